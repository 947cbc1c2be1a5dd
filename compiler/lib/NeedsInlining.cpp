#include "NeedsInlining.h"

#include "RewriteRecords.h"
#include "SourceUtils.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

using namespace clang;

namespace dsu {

namespace {

// Finds calls to functions declared with __attribute__((error/warning))
// (BUILD_BUG and friends) that are live in a body as written: not under a
// condition that is a constant false. Such a call compiles only if the
// optimizer removes it, which for a function moved behind a pointer happens
// only when the function is not emitted at all or when the conditions
// guarding the call fold after inlining.
class AssertionScanner {
public:
  // `reaching`: functions of the unit that themselves reach an assertion
  // unconditionally; a live call to one counts like the assertion itself.
  AssertionScanner(ASTContext &ctx, const std::set<const FunctionDecl *> &reaching)
      : ctx_(ctx), reaching_(reaching) {}
  struct Hit {
    std::vector<const Expr *> guards; // non-constant conditions on the path
  };
  std::vector<Hit> hits;

  void scan(const Stmt *s) {
    if (!s)
      return;
    if (const auto *is = dyn_cast<IfStmt>(s)) {
      scanBranches(is->getCond(), is->getThen(), is->getElse());
      return;
    }
    if (const auto *co = dyn_cast<ConditionalOperator>(s)) {
      scanBranches(co->getCond(), co->getTrueExpr(), co->getFalseExpr());
      return;
    }
    if (const auto *bo = dyn_cast<BinaryOperator>(s); bo && bo->isLogicalOp()) {
      bool v;
      scan(bo->getLHS());
      if (constant(bo->getLHS(), v)) {
        if (v == (bo->getOpcode() == BO_LAnd))
          scan(bo->getRHS());
        return;
      }
      guards_.push_back(bo->getLHS());
      scan(bo->getRHS());
      guards_.pop_back();
      return;
    }
    if (const auto *sw = dyn_cast<SwitchStmt>(s)) {
      // A constant switch (`switch (sizeof(*ptr))` in cmpxchg) runs only the
      // matching case; the `default: __bad_size()` of the others is dead.
      Expr::EvalResult value;
      const Expr *cond = sw->getCond();
      scan(cond);
      if (cond && !cond->isValueDependent() && cond->EvaluateAsInt(value, ctx_) &&
          isa_and_nonnull<CompoundStmt>(sw->getBody())) {
        scanConstantSwitch(sw, value.Val.getInt());
        return;
      }
      guards_.push_back(cond);
      scan(sw->getBody());
      guards_.pop_back();
      return;
    }
    // Unevaluated operands (sizeof, typeof of a statement expression) and
    // the branch __builtin_choose_expr does not choose are never code.
    if (isa<UnaryExprOrTypeTraitExpr>(s))
      return;
    if (const auto *choose = dyn_cast<ChooseExpr>(s); choose && !choose->isConditionDependent()) {
      scan(choose->getChosenSubExpr());
      return;
    }
    if (const auto *ce = dyn_cast<CallExpr>(s))
      if (const FunctionDecl *fd = ce->getDirectCallee();
          fd && (fd->hasAttr<ErrorAttr>() || reaching_.count(fd->getCanonicalDecl())))
        hits.push_back({guards_});
    for (const Stmt *child : s->children())
      scan(child);
  }

private:
  // `cond ? yes : no` or an if: only the side taken when `cond` is constant,
  // else both, guarded by it.
  void scanBranches(const Expr *cond, const Stmt *yes, const Stmt *no) {
    bool v;
    scan(cond);
    if (constant(cond, v)) {
      scan(v ? yes : no);
      return;
    }
    guards_.push_back(cond);
    scan(yes);
    scan(no);
    guards_.pop_back();
  }
  bool caseMatches(const CaseStmt *cs, const llvm::APSInt &v) {
    Expr::EvalResult lo, hi;
    if (!cs->getLHS() || !cs->getLHS()->EvaluateAsInt(lo, ctx_))
      return true; // unknown: keep it live
    if (cs->getRHS()) // GNU case range
      return cs->getRHS()->EvaluateAsInt(hi, ctx_) &&
             llvm::APSInt::compareValues(lo.Val.getInt(), v) <= 0 &&
             llvm::APSInt::compareValues(v, hi.Val.getInt()) <= 0;
    return llvm::APSInt::compareValues(lo.Val.getInt(), v) == 0;
  }
  void scanConstantSwitch(const SwitchStmt *sw, const llvm::APSInt &v) {
    bool matched = false;
    for (const SwitchCase *sc = sw->getSwitchCaseList(); sc; sc = sc->getNextSwitchCase())
      if (const auto *cs = dyn_cast<CaseStmt>(sc); cs && caseMatches(cs, v))
        matched = true;
    bool live = false;
    for (const Stmt *child : cast<CompoundStmt>(sw->getBody())->body()) {
      const Stmt *st = child;
      while (const auto *sc = dyn_cast<SwitchCase>(st)) {
        if (const auto *cs = dyn_cast<CaseStmt>(sc))
          live |= caseMatches(cs, v);
        else if (isa<DefaultStmt>(sc))
          live |= !matched;
        st = sc->getSubStmt();
      }
      if (live)
        scan(st);
      if (isa<BreakStmt>(st) || isa<ReturnStmt>(st))
        live = false;
    }
  }
  bool constant(const Expr *e, bool &value) {
    if (!e || e->isValueDependent())
      return false;
    return e->EvaluateAsBooleanCondition(value, ctx_);
  }
  ASTContext &ctx_;
  const std::set<const FunctionDecl *> &reaching_;
  std::vector<const Expr *> guards_;
};

// Whether `s` mentions one of `fd`'s parameters.
bool mentionsParameterOf(const Stmt *s, const FunctionDecl *fd) {
  if (!s)
    return false;
  if (const auto *ref = dyn_cast<DeclRefExpr>(s))
    if (const auto *p = dyn_cast<ParmVarDecl>(ref->getDecl()))
      return p->getDeclContext() == fd;
  for (const Stmt *child : s->children())
    if (mentionsParameterOf(child, fd))
      return true;
  return false;
}

// Finds references to symbols this unit only declares (functions and
// variables defined elsewhere, if at all) made under a condition on one of
// `fd`'s parameters. When `fd` has a single call site, the compiler inlines
// it there and folds such conditions with the caller's arguments, and the
// kernel relies on that to drop references to code its configuration does
// not build (`if (ia32_fxstate) convert_to_fxsr(...)`); a standalone body
// keeps them and fails to link.
class ParameterGuardScanner {
public:
  explicit ParameterGuardScanner(const FunctionDecl *fd) : fd_(fd) {}
  std::string found; // the first symbol so referenced

  void scan(const Stmt *s, bool guarded) {
    if (!s || !found.empty())
      return;
    if (const auto *cs = dyn_cast<CompoundStmt>(s)) {
      // `if (param) return ...;` guards everything after it as well.
      bool g = guarded;
      for (const Stmt *child : cs->body()) {
        scan(child, g);
        if (const auto *is = dyn_cast<IfStmt>(child))
          if (!is->getElse() && leaves(is->getThen()) && mentionsParameter(is->getCond()))
            g = true;
      }
      return;
    }
    if (const auto *is = dyn_cast<IfStmt>(s)) {
      scanBranches(is->getCond(), is->getThen(), is->getElse(), guarded);
      return;
    }
    if (const auto *co = dyn_cast<ConditionalOperator>(s)) {
      scanBranches(co->getCond(), co->getTrueExpr(), co->getFalseExpr(), guarded);
      return;
    }
    if (const auto *bo = dyn_cast<BinaryOperator>(s); bo && bo->isLogicalOp()) {
      scan(bo->getLHS(), guarded);
      scan(bo->getRHS(), guarded || mentionsParameter(bo->getLHS()));
      return;
    }
    if (const auto *ref = dyn_cast<DeclRefExpr>(s); ref && guarded) {
      const ValueDecl *d = ref->getDecl();
      if (const auto *f = dyn_cast<FunctionDecl>(d)) {
        if (!f->isDefined() && !f->getBuiltinID() && f->isExternallyVisible())
          found = f->getName().str();
      } else if (const auto *v = dyn_cast<VarDecl>(d)) {
        if (v->hasExternalStorage() && !v->getDefinition() && v->isFileVarDecl())
          found = v->getName().str();
      }
    }
    for (const Stmt *child : s->children())
      scan(child, guarded);
  }

private:
  // `cond ? yes : no` or an if: both sides guarded when `cond` tests a parameter.
  void scanBranches(const Expr *cond, const Stmt *yes, const Stmt *no, bool guarded) {
    scan(cond, guarded);
    bool g = guarded || mentionsParameter(cond);
    scan(yes, g);
    scan(no, g);
  }
  // Control never falls out of `s` (it ends in return/goto/break/continue).
  static bool leaves(const Stmt *s) {
    if (const auto *cs = dyn_cast_or_null<CompoundStmt>(s))
      return !cs->body_empty() && leaves(cs->body_back());
    return s && (isa<ReturnStmt>(s) || isa<GotoStmt>(s) || isa<BreakStmt>(s) ||
                 isa<ContinueStmt>(s));
  }
  // A scalar parameter tested in the condition itself (not merely passed to
  // a function): what a caller's constant argument can fold.
  bool mentionsParameter(const Stmt *s) const {
    if (!s)
      return false;
    if (const auto *ce = dyn_cast<CallExpr>(s); ce && !ce->getBuiltinCallee())
      return false;
    if (const auto *ref = dyn_cast<DeclRefExpr>(s))
      if (const auto *p = dyn_cast<ParmVarDecl>(ref->getDecl()))
        return p->getDeclContext() == fd_ && p->getType()->isScalarType() &&
               !p->getType()->isPointerType();
    for (const Stmt *child : s->children())
      if (mentionsParameter(child))
        return true;
    return false;
  }
  const FunctionDecl *fd_;
};

// Counts, per function, the call sites and the other references in the unit.
// Functions defined in this unit that are called inside `e`.
void collectLocalCallees(const Expr *e, std::set<const FunctionDecl *> &out) {
  if (!e)
    return;
  if (const auto *ce = dyn_cast<CallExpr>(e))
    if (const FunctionDecl *fd = ce->getDirectCallee())
      if (const FunctionDecl *def = fd->getDefinition())
        out.insert(def->getCanonicalDecl());
  for (const Stmt *child : e->children())
    if (const auto *ce = dyn_cast_or_null<Expr>(child))
      collectLocalCallees(ce, out);
}

// Every function `s` names, called or not (canonical declarations, repeats
// kept).
void collectReferencedFunctions(const Stmt *s, std::vector<const FunctionDecl *> &out) {
  if (!s)
    return;
  if (const auto *ref = dyn_cast<DeclRefExpr>(s))
    if (const auto *fd = dyn_cast<FunctionDecl>(ref->getDecl()))
      out.push_back(fd->getCanonicalDecl());
  for (const Stmt *child : s->children())
    collectReferencedFunctions(child, out);
}


} // namespace

std::map<const FunctionDecl *, std::string>
functionsNeedingInlining(ASTContext &ctx, const RewriteOptions &opts,
                         const std::map<const FunctionDecl *, FunctionUse> &uses) {
  const SourceManager &sm = ctx.getSourceManager();
  std::map<const FunctionDecl *, std::string> needsInlining;
  // Only what the unit's own code can reach matters: the functions defined
  // in its source file (only those are ever updateable) and, through
  // references, the header functions they use. A kernel unit defines
  // thousands of header functions it never uses; scanning those was most of
  // the rewrite's time.
  std::vector<FunctionDecl *> defs;
  std::vector<std::vector<const FunctionDecl *>> refs;
  {
    std::map<const FunctionDecl *, FunctionDecl *> definitions;
    std::vector<FunctionDecl *> work;
    std::vector<const FunctionDecl *> roots;
    for (Decl *d : ctx.getTranslationUnitDecl()->decls()) {
      if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody()) {
        definitions[fd->getCanonicalDecl()] = fd;
        if (inCSourceFile(sm, fd->getLocation()))
          roots.push_back(fd->getCanonicalDecl());
      } else if (auto *vd = dyn_cast<VarDecl>(d); vd && vd->getInit() &&
                                                   inCSourceFile(sm, vd->getLocation())) {
        collectReferencedFunctions(vd->getInit(), roots);
      }
    }
    // What each reached function names, collected once: it drives the
    // closure here and the rescans below.
    std::map<const FunctionDecl *, std::vector<const FunctionDecl *>> reached;
    auto reach = [&](const FunctionDecl *canonical) {
      auto it = definitions.find(canonical);
      if (it != definitions.end() && reached.emplace(canonical, std::vector<const FunctionDecl *>())
                                         .second)
        work.push_back(it->second);
    };
    for (const FunctionDecl *r : roots)
      reach(r);
    while (!work.empty()) {
      FunctionDecl *fd = work.back();
      work.pop_back();
      std::vector<const FunctionDecl *> &named = reached[fd->getCanonicalDecl()];
      collectReferencedFunctions(fd->getBody(), named);
      for (size_t i = 0; i < named.size(); ++i)
        reach(named[i]); // by index: reach() may add to `reached`, never to `named`
    }
    // In declaration order, as before: the first reason found for a
    // function is the one it keeps.
    for (Decl *d : ctx.getTranslationUnitDecl()->decls())
      if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody())
        if (auto it = reached.find(fd->getCanonicalDecl()); it != reached.end()) {
          defs.push_back(fd);
          refs.push_back(it->second);
        }
  }
  for (FunctionDecl *fd : defs)
    if (auto it = opts.needsInlining.find(fd->getName().str()); it != opts.needsInlining.end())
      needsInlining[fd->getCanonicalDecl()] = it->second;
  // Static functions specialized by their only call site.
  auto useOf = [&](const FunctionDecl *fd) {
    auto it = uses.find(fd->getCanonicalDecl());
    return it == uses.end() ? FunctionUse() : it->second;
  };
  for (FunctionDecl *fd : defs) {
    if (fd->isExternallyVisible())
      continue;
    if (FunctionUse use = useOf(fd); use.calls != 1 || use.escapes != 0)
      continue;
    ParameterGuardScanner scan(fd);
    scan.scan(fd->getBody(), false);
    if (!scan.found.empty())
      needsInlining.emplace(fd->getCanonicalDecl(),
                             fmt::format("inlined at its only call site, where the caller's "
                                         "arguments fold away its reference to {}",
                                         scan.found));
  }
  // Functions reaching an assertion unconditionally, to a fixed point: a
  // live call to such a function reaches it too. A body is scanned again
  // only when a function it calls has joined `reaching` since its last scan
  // (nothing else a scan sees changes), which keeps the fixed point to about
  // one pass over the unit's thousands of header functions.
  std::set<const FunctionDecl *> reaching;
  std::map<const FunctionDecl *, unsigned> joinedAt; // epoch a function joined `reaching`
  std::vector<unsigned> scannedAt(defs.size(), 0);
  unsigned epoch = 0;
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t i = 0; i < defs.size(); ++i) {
      FunctionDecl *fd = defs[i];
      if (reaching.count(fd->getCanonicalDecl()))
        continue;
      if (scannedAt[i] != 0 &&
          std::none_of(refs[i].begin(), refs[i].end(), [&](const FunctionDecl *c) {
            auto it = joinedAt.find(c);
            return it != joinedAt.end() && it->second >= scannedAt[i];
          }))
        continue;
      scannedAt[i] = ++epoch;
      AssertionScanner scan(ctx, reaching);
      scan.scan(fd->getBody());
      for (const AssertionScanner::Hit &hit : scan.hits) {
        std::set<const FunctionDecl *> deciders;
        for (const Expr *g : hit.guards)
          collectLocalCallees(g, deciders);
        deciders.erase(fd->getCanonicalDecl());
        // An external function's body is emitted on its own in the plain
        // build too, and so is one whose address escapes (an ops table's
        // `.ioctl = f`), with arguments nothing folds: assertions in it
        // already fold there. Only functions of this unit it calls to decide
        // them can change that. (An escape in code that folds away leaves
        // the plain build without that copy: the compile fails and the retry
        // of dsu-cc.cpp leaves the function out.)
        if ((fd->isExternallyVisible() || useOf(fd).escapes) && deciders.empty())
          continue;
        if (deciders.empty() && hit.guards.empty()) {
          if (reaching.insert(fd->getCanonicalDecl()).second) {
            joinedAt[fd->getCanonicalDecl()] = ++epoch;
            grew = true;
          }
          needsInlining.emplace(fd->getCanonicalDecl(), "reaches a compile-time assertion");
        } else if (deciders.empty()) {
          // Conditions on locals fold inside the body itself (min()/max()
          // type checks); conditions on parameters fold only with the
          // caller's arguments.
          bool onParameters = false;
          for (const Expr *g : hit.guards)
            onParameters |= mentionsParameterOf(g, fd);
          if (onParameters)
            needsInlining.emplace(fd->getCanonicalDecl(),
                                   "reaches a compile-time assertion unless its arguments fold");
        }
        // The guard folds only if the functions deciding it are inlined.
        for (const FunctionDecl *decider : deciders)
          needsInlining.emplace(decider, fmt::format("decides whether {}() reaches a compile-time "
                                                      "assertion", fd->getName().str()));
      }
    }
  }
  return needsInlining;
}

} // namespace dsu
