#include "Indirection.h"

#include "Alignment.h"
#include "Policy.h"
#include "TypeWrapping.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/Decl.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include <clang/Tooling/Transformer/SourceCode.h>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Support/SHA256.h>

#include <algorithm>
#include <map>
#include <set>

using namespace clang;

namespace dsu {

const char *abiHeaderText() {
  static const char text[] =
#include "AbiHeaderText.inc"
      ;
  return text;
}

namespace {

std::string hexHash(llvm::StringRef data) { return sha256Hex(data, 16); }

// A definition's file is "source" when it is a .c file: kernel units include
// other .c files (kernel/sched/build_policy.c), and those functions belong
// to the unit as much as its own.
bool isSourceFile(llvm::StringRef file) { return file.ends_with(".c") || file.ends_with(".i"); }

struct Candidate {
  FunctionDecl *def = nullptr;
  FunctionRecord record;
  unsigned insertOffset = 0; // calls before this offset keep going to the stub
};

// Collects what is needed from function bodies: direct callees, call sites,
// __func__ uses.
class BodyScanner : public RecursiveASTVisitor<BodyScanner> {
public:
  std::vector<const CallExpr *> calls;
  std::vector<const PredefinedExpr *> predefined;
  bool VisitCallExpr(CallExpr *ce) {
    calls.push_back(ce);
    return true;
  }
  bool VisitPredefinedExpr(PredefinedExpr *pe) {
    predefined.push_back(pe);
    return true;
  }
};

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
      bool v;
      scan(is->getCond());
      if (constant(is->getCond(), v)) {
        scan(v ? is->getThen() : is->getElse());
        return;
      }
      guards_.push_back(is->getCond());
      scan(is->getThen());
      scan(is->getElse());
      guards_.pop_back();
      return;
    }
    if (const auto *co = dyn_cast<ConditionalOperator>(s)) {
      bool v;
      scan(co->getCond());
      if (constant(co->getCond(), v)) {
        scan(v ? co->getTrueExpr() : co->getFalseExpr());
        return;
      }
      guards_.push_back(co->getCond());
      scan(co->getTrueExpr());
      scan(co->getFalseExpr());
      guards_.pop_back();
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
    if (const auto *ce = dyn_cast<CallExpr>(s))
      if (const FunctionDecl *fd = ce->getDirectCallee();
          fd && (fd->hasAttr<ErrorAttr>() || reaching_.count(fd->getCanonicalDecl())))
        hits.push_back({guards_});
    for (const Stmt *child : s->children())
      scan(child);
  }

private:
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
      scan(is->getCond(), guarded);
      bool g = guarded || mentionsParameter(is->getCond());
      scan(is->getThen(), g);
      scan(is->getElse(), g);
      return;
    }
    if (const auto *co = dyn_cast<ConditionalOperator>(s)) {
      scan(co->getCond(), guarded);
      bool g = guarded || mentionsParameter(co->getCond());
      scan(co->getTrueExpr(), g);
      scan(co->getFalseExpr(), g);
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
class UseCounter : public RecursiveASTVisitor<UseCounter> {
public:
  std::map<const FunctionDecl *, std::pair<unsigned, unsigned>> uses; // calls, other
  bool VisitCallExpr(CallExpr *ce) {
    if (const auto *ref = dyn_cast<DeclRefExpr>(ce->getCallee()->IgnoreParenImpCasts()))
      callees_.insert(ref);
    return true;
  }
  bool VisitDeclRefExpr(DeclRefExpr *ref) {
    if (const auto *fd = dyn_cast<FunctionDecl>(ref->getDecl())) {
      auto &u = uses[fd->getCanonicalDecl()];
      (callees_.count(ref) ? u.first : u.second)++;
    }
    return true;
  }

private:
  std::set<const DeclRefExpr *> callees_;
};

// Which functions this unit really emits code for, as far as header
// functions go: those reachable, through calls and references (cleanup
// attributes included), from the unit's own functions or from outside any
// function (initializers). clang's isUsed() is no help here: a use inside
// another header inline nobody uses counts too, and the kernel's headers
// define some 1500 inlines per unit, nearly all dead.
class ReferenceGraph : public RecursiveASTVisitor<ReferenceGraph> {
public:
  bool TraverseFunctionDecl(FunctionDecl *fd) {
    const FunctionDecl *outer = current_;
    if (fd->doesThisDeclarationHaveABody())
      current_ = fd->getCanonicalDecl();
    bool ok = RecursiveASTVisitor::TraverseFunctionDecl(fd);
    current_ = outer;
    return ok;
  }
  bool VisitDeclRefExpr(DeclRefExpr *ref) {
    if (const auto *fd = dyn_cast<FunctionDecl>(ref->getDecl()))
      edges_[current_].push_back(fd->getCanonicalDecl());
    return true;
  }
  bool VisitVarDecl(VarDecl *vd) {
    if (const auto *cleanup = vd->getAttr<CleanupAttr>())
      if (const FunctionDecl *fd = cleanup->getFunctionDecl())
        edges_[current_].push_back(fd->getCanonicalDecl());
    return true;
  }
  // Everything reachable from `roots` and from outside functions.
  std::set<const FunctionDecl *> reachable(const std::vector<const FunctionDecl *> &roots) const {
    std::set<const FunctionDecl *> seen;
    std::vector<const FunctionDecl *> todo(roots.begin(), roots.end());
    if (auto it = edges_.find(nullptr); it != edges_.end())
      todo.insert(todo.end(), it->second.begin(), it->second.end());
    while (!todo.empty()) {
      const FunctionDecl *f = todo.back();
      todo.pop_back();
      if (!seen.insert(f).second)
        continue;
      if (auto it = edges_.find(f); it != edges_.end())
        todo.insert(todo.end(), it->second.begin(), it->second.end());
    }
    return seen;
  }

private:
  const FunctionDecl *current_ = nullptr;
  std::map<const FunctionDecl *, std::vector<const FunctionDecl *>> edges_;
};

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

// An empty body, or a single `return <constant>;`.
bool hasConstantBody(const FunctionDecl *fd) {
  const auto *cs = dyn_cast_or_null<CompoundStmt>(fd->getBody());
  if (!cs)
    return false;
  if (cs->body_empty())
    return true;
  if (cs->size() != 1)
    return false;
  const auto *ret = dyn_cast<ReturnStmt>(cs->body_front());
  if (!ret)
    return false;
  const Expr *value = ret->getRetValue();
  if (!value)
    return true;
  if (value->isValueDependent())
    return false;
  Expr::EvalResult result;
  return value->EvaluateAsRValue(result, fd->getASTContext());
}

const FunctionDecl *directCallee(const CallExpr *ce, const DeclRefExpr **refOut) {
  const Expr *callee = ce->getCallee()->IgnoreParenImpCasts();
  const auto *ref = dyn_cast<DeclRefExpr>(callee);
  if (!ref)
    return nullptr;
  const auto *fd = dyn_cast<FunctionDecl>(ref->getDecl());
  if (fd && refOut)
    *refOut = ref;
  return fd;
}

// Whether an initializer refers to a function or variable this unit only
// declares: such a static is kept only while the optimizer can drop it, so
// taking its address for a descriptor could turn into a link error.
bool refersToDeclaredOnly(const Stmt *s, std::string &what) {
  if (!s)
    return false;
  if (const auto *ref = dyn_cast<DeclRefExpr>(s)) {
    const ValueDecl *d = ref->getDecl();
    if (const auto *f = dyn_cast<FunctionDecl>(d)) {
      if (!f->isDefined() && !f->getBuiltinID()) {
        what = f->getName().str();
        return true;
      }
    } else if (const auto *v = dyn_cast<VarDecl>(d)) {
      if (v->hasExternalStorage() && !v->getDefinition() && v->isFileVarDecl()) {
        what = v->getName().str();
        return true;
      }
    }
  }
  for (const Stmt *child : s->children())
    if (refersToDeclaredOnly(child, what))
      return true;
  return false;
}

// Static locals of a body, in source order, with the compound statement
// holding their declaration statement (null when it is not directly in one).
class StaticLocalScanner : public RecursiveASTVisitor<StaticLocalScanner> {
public:
  struct Local {
    const VarDecl *var;
    const DeclStmt *stmt; // null when not a direct child of a compound statement
  };
  std::vector<Local> locals;
  bool VisitCompoundStmt(CompoundStmt *cs) {
    for (Stmt *child : cs->body())
      if (auto *ds = dyn_cast<DeclStmt>(child))
        for (Decl *d : ds->decls())
          if (auto *vd = dyn_cast<VarDecl>(d); vd && vd->isStaticLocal())
            direct_[vd] = ds;
    return true;
  }
  bool VisitVarDecl(VarDecl *vd) {
    if (vd->isStaticLocal())
      order_.push_back(vd);
    return true;
  }
  void finish() {
    for (const VarDecl *vd : order_) {
      auto it = direct_.find(vd);
      locals.push_back({vd, it == direct_.end() ? nullptr : it->second});
    }
  }

private:
  std::map<const VarDecl *, const DeclStmt *> direct_;
  std::vector<const VarDecl *> order_;
};

std::string escapeC(llvm::StringRef in) { return escapeCString(in); }

} // namespace

std::string sha256Hex(llvm::StringRef data, size_t bytes) {
  auto digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(data));
  std::string out;
  for (size_t i = 0; i < bytes && i < digest.size(); ++i)
    out += fmt::format("{:02x}", digest[i]);
  return out;
}

std::string escapeCString(llvm::StringRef in) {
  std::string out;
  for (char ch : in) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      // A newline would end the literal; three octal digits never run into
      // the character that follows.
      out += fmt::format("\\{:03o}", u);
      continue;
    }
    if (ch == '"' || ch == '\\')
      out += '\\';
    out += ch;
  }
  return out;
}

std::string predefinedLiteral(const PredefinedExpr *pe, const FunctionDecl *fd) {
  // The literal clang made for this very expression, in the original
  // function: exactly its text, whatever the kind (__func__ is the name,
  // __PRETTY_FUNCTION__ the whole signature, "const char *f(int)").
  const StringLiteral *sl = pe->getFunctionName();
  if (sl && sl->isOrdinary())
    return fmt::format("\"{}\"", escapeCString(sl->getString()));
  // L__FUNCTION__, L__FUNCSIG__ (-fms-extensions): the same text as a wide
  // literal; the rewritten unit is UTF-8 like the source the name came from.
  const bool wide = sl ? sl->isWide()
                       : pe->getIdentKind() == PredefinedIdentKind::LFunction ||
                             pe->getIdentKind() == PredefinedIdentKind::LFuncSig;
  return fmt::format("{}\"{}\"", wide ? "L" : "",
                     escapeCString(PredefinedExpr::ComputeName(pe->getIdentKind(), fd)));
}

bool registrableStatic(const VarDecl *vd, std::string &why) {
  if (vd->getTLSKind() != VarDecl::TLS_None) {
    why = "thread-local";
    return false;
  }
  if (const auto *s = vd->getAttr<SectionAttr>()) {
    llvm::StringRef name = s->getName();
    bool plainData = name.starts_with(".data") || name.starts_with(".bss") ||
                     name.starts_with(".rodata");
    // .data..ro_after_init is ordinary data that becomes read-only after
    // boot: the state a patch reads.
    bool initData = name.contains("init") && name != ".data..ro_after_init";
    if (!plainData || name.contains("percpu") || initData || name.contains("exit") ||
        name.contains("discard")) {
      why = fmt::format("in section {}", name.str());
      return false;
    }
  }
  if (vd->getType()->isVariablyModifiedType()) {
    why = "variably modified type";
    return false;
  }
  if (const VarDecl *def = vd->getDefinition())
    vd = def;
  std::string what;
  if (refersToDeclaredOnly(vd->getInit(), what)) {
    why = fmt::format("its initializer refers to {}, which this unit only declares", what);
    return false;
  }
  return true;
}

std::string staticLocalName(const FunctionDecl *fn, const VarDecl *vd) {
  StaticLocalScanner scan;
  scan.TraverseStmt(fn->getBody());
  scan.finish();
  unsigned seen = 0;
  for (const auto &l : scan.locals) {
    if (l.var->getName() == vd->getName())
      ++seen;
    if (l.var == vd)
      break;
  }
  std::string name = fmt::format("{}.{}", fn->getName().str(), vd->getName().str());
  if (seen > 1)
    name += fmt::format("#{}", seen);
  return name;
}

namespace {

class IndirectionRewriter {
public:
  IndirectionRewriter(ASTContext &ctx, const RewriteOptions &opts)
      : ctx_(ctx), sm_(ctx.getSourceManager()), lo_(ctx.getLangOpts()), opts_(opts) {
    rw_.setSourceMgr(sm_, lo_);
    mainFile_ = sm_.getMainFileID();
    editFile_ = opts.preprocessed ? opts.preprocessed->file : mainFile_;
    buffer_ = sm_.getBufferData(editFile_);
  }

  RewriteResult run();

private:
  // Where the token at AST location `loc` is in the text being edited;
  // invalid when it is not there as such (a macro body in the plugin's
  // unpreprocessed input).
  SourceLocation edit(SourceLocation loc) const {
    if (loc.isInvalid())
      return {};
    if (opts_.preprocessed)
      return opts_.preprocessed->lookup(sm_, loc);
    return loc.isFileID() && sm_.getFileID(loc) == mainFile_ ? loc : SourceLocation();
  }
  bool editable(SourceLocation loc) const { return edit(loc).isValid(); }
  // Offset of an edit-text location.
  unsigned offset(SourceLocation editLoc) const { return sm_.getFileOffset(editLoc); }
  std::string presumedFile(SourceLocation loc) const {
    PresumedLoc p = sm_.getPresumedLoc(sm_.getExpansionLoc(loc));
    return p.isValid() ? p.getFilename() : "";
  }
  unsigned presumedLine(SourceLocation loc) const {
    PresumedLoc p = sm_.getPresumedLoc(sm_.getExpansionLoc(loc));
    return p.isValid() ? p.getLine() : 0;
  }

  void collectAliasTargets();
  void findAssertionDependencies();
  Reason classify(FunctionDecl *fd, std::string &detail);
  std::string normalizedTokens(SourceLocation begin, SourceLocation end) const;
  void describe(Candidate &c);
  bool planInsertion(Candidate &c);
  SourceLocation endOfDeclStatement(const Decl *d) const;
  void editDefinition(Candidate &c);
  unsigned headStart(const FunctionDecl *fd, unsigned begin) const;
  void editCalls();
  std::string prelude(bool afterMarker) const;
  std::string varDescriptor(const VarDecl *vd, const std::string &cname,
                            const std::string &regName, bool local) const;
  void registerStaticLocals(Candidate &c);
  void registerFileStatics();

  ASTContext &ctx_;
  SourceManager &sm_;
  const LangOptions &lo_;
  const RewriteOptions &opts_;
  Rewriter rw_;
  FileID mainFile_;
  FileID editFile_; // holds buffer_, the text edited
  llvm::StringRef buffer_;
  std::set<std::string> aliasTargets_;
  // Functions that must stay inlinable, with why.
  std::map<const FunctionDecl *, std::string> needsInlining_;
  std::vector<Candidate> candidates_;
  llvm::DenseMap<const FunctionDecl *, size_t> updateable_; // canonical decl -> candidate
  unsigned callsRewritten_ = 0;
  std::set<unsigned> editedCalls_;
  std::vector<VariableRecord> variables_;
};

void IndirectionRewriter::collectAliasTargets() {
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls())
    if (auto *a = d->getAttr<AliasAttr>())
      aliasTargets_.insert(a->getAliasee().str());
}

void IndirectionRewriter::findAssertionDependencies() {
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
    for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
      if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody()) {
        definitions[fd->getCanonicalDecl()] = fd;
        if (isSourceFile(presumedFile(fd->getLocation())))
          roots.push_back(fd->getCanonicalDecl());
      } else if (auto *vd = dyn_cast<VarDecl>(d); vd && vd->getInit() &&
                                                   isSourceFile(presumedFile(vd->getLocation()))) {
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
      std::vector<const FunctionDecl *> &uses = reached[fd->getCanonicalDecl()];
      collectReferencedFunctions(fd->getBody(), uses);
      for (size_t i = 0; i < uses.size(); ++i)
        reach(uses[i]); // by index: reach() may add to `reached`, never to `uses`
    }
    // In declaration order, as before: the first reason found for a
    // function is the one it keeps.
    for (Decl *d : ctx_.getTranslationUnitDecl()->decls())
      if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody())
        if (auto it = reached.find(fd->getCanonicalDecl()); it != reached.end()) {
          defs.push_back(fd);
          refs.push_back(it->second);
        }
  }
  for (FunctionDecl *fd : defs)
    if (auto it = opts_.needsInlining.find(fd->getName().str()); it != opts_.needsInlining.end())
      needsInlining_[fd->getCanonicalDecl()] = it->second;
  // Static functions specialized by their only call site.
  UseCounter counter;
  counter.TraverseDecl(ctx_.getTranslationUnitDecl());
  for (FunctionDecl *fd : defs) {
    if (fd->isExternallyVisible())
      continue;
    auto [calls, others] = counter.uses[fd->getCanonicalDecl()];
    if (calls != 1 || others != 0)
      continue;
    ParameterGuardScanner scan(fd);
    scan.scan(fd->getBody(), false);
    if (!scan.found.empty())
      needsInlining_.emplace(fd->getCanonicalDecl(),
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
      AssertionScanner scan(ctx_, reaching);
      scan.scan(fd->getBody());
      for (const AssertionScanner::Hit &hit : scan.hits) {
        std::set<const FunctionDecl *> deciders;
        for (const Expr *g : hit.guards)
          collectLocalCallees(g, deciders);
        deciders.erase(fd->getCanonicalDecl());
        // An external function's body is emitted on its own in the plain
        // build too, so assertions in it already fold there; only functions
        // of this unit it calls to decide them can change that.
        if (fd->isExternallyVisible() && deciders.empty())
          continue;
        if (deciders.empty() && hit.guards.empty()) {
          if (reaching.insert(fd->getCanonicalDecl()).second) {
            joinedAt[fd->getCanonicalDecl()] = ++epoch;
            grew = true;
          }
          needsInlining_.emplace(fd->getCanonicalDecl(), "reaches a compile-time assertion");
        } else if (deciders.empty()) {
          // Conditions on locals fold inside the body itself (min()/max()
          // type checks); conditions on parameters fold only with the
          // caller's arguments.
          bool onParameters = false;
          for (const Expr *g : hit.guards)
            onParameters |= mentionsParameterOf(g, fd);
          if (onParameters)
            needsInlining_.emplace(fd->getCanonicalDecl(),
                                   "reaches a compile-time assertion unless its arguments fold");
        }
        // The guard folds only if the functions deciding it are inlined.
        for (const FunctionDecl *decider : deciders)
          needsInlining_.emplace(decider, fmt::format("decides whether {}() reaches a compile-time "
                                                      "assertion", fd->getName().str()));
      }
    }
  }
}

Reason IndirectionRewriter::classify(FunctionDecl *fd, std::string &detail) {
  const std::string file = presumedFile(fd->getLocation());
  if (!isSourceFile(file)) {
    detail = fd->isInlined() ? "inline" : "";
    return Reason::HeaderFunction;
  }
  if (opts_.fileExcluded) {
    detail = opts_.fileDetail;
    return opts_.fileReason;
  }
  if (fd->hasAttr<AliasAttr>())
    return Reason::Alias;
  if (aliasTargets_.count(fd->getName().str()))
    return Reason::AliasTarget;
  if (fd->isVariadic())
    return Reason::Variadic;
  if (fd->hasAttr<NakedAttr>())
    return Reason::Naked;
  if (fd->hasAttr<AlwaysInlineAttr>())
    return Reason::AlwaysInline;
  if (auto *s = fd->getAttr<SectionAttr>()) {
    llvm::StringRef name = s->getName();
    detail = name.str();
    if (name.starts_with(".init."))
      return Reason::InitSection;
    if (name.starts_with(".exit."))
      return Reason::ExitSection;
    if (name == ".noinstr.text")
      return Reason::Noinstr;
    return Reason::ExplicitSection;
  }
  if (fd->hasAttr<WeakAttr>() || fd->hasAttr<WeakRefAttr>() || fd->isWeak())
    return Reason::Weak;
  if (fd->hasAttr<ConstructorAttr>() || fd->hasAttr<DestructorAttr>())
    return Reason::Constructor;
  if (fd->hasAttr<AsmLabelAttr>())
    return Reason::AsmLabel;
  if (fd->isMultiVersion() || fd->hasAttr<TargetAttr>() || fd->hasAttr<TargetClonesAttr>() ||
      fd->hasAttr<IFuncAttr>())
    return Reason::Multiversion;
  if (fd->isInlined() && fd->getStorageClass() != SC_Static &&
      !fd->isInlineDefinitionExternallyVisible())
    return Reason::ExternInline;
  if (fd->hasAttr<AnyX86NoCfCheckAttr>() ||
      fd->getType()->castAs<FunctionType>()->getExtInfo().getNoCfCheck())
    return Reason::NoCfCheck;
  // The kernel's config stubs (`static inline bool foo_enabled(void) { return
  // false; }`, empty hooks) exist to fold away, taking with them calls to
  // functions and references to symbols that this configuration does not
  // build; behind a pointer they would stay and fail to compile or link.
  if (fd->isInlineSpecified())
    return Reason::Inline;
  if (opts_.kernel && fd->isNoReturn())
    return Reason::NoReturn;
  if (hasConstantBody(fd))
    return Reason::ConstantBody;
  if (!fd->hasWrittenPrototype() && fd->getNumParams() > 0)
    return Reason::KnrDefinition;
  for (const ParmVarDecl *p : fd->parameters())
    if (p->getName().empty())
      return Reason::UnnamedParameter;
  if (auto it = needsInlining_.find(fd->getCanonicalDecl()); it != needsInlining_.end()) {
    detail = it->second;
    return Reason::NeedsInlining;
  }
  if (opts_.policy) {
    PolicyDecision d = opts_.policy->function(fd->getName());
    if (!d.instrument) {
      detail = d.reason;
      return Reason::PolicyFunction;
    }
  }
  // Everything the rewrite touches must be plain text of the unit.
  const Stmt *body = fd->getBody();
  auto *cs = dyn_cast_or_null<CompoundStmt>(body);
  if (!cs || !editable(fd->getLocation()) || !editable(fd->getBeginLoc()) ||
      !editable(cs->getLBracLoc()) || !editable(cs->getRBracLoc())) {
    detail = "definition or its name comes from a macro";
    return Reason::Uneditable;
  }
  // The stub repeats the head on one line; a directive inside it (a line
  // marker of a long blank stretch) cannot be folded onto one line.
  llvm::StringRef head = buffer_.slice(offset(edit(fd->getBeginLoc())),
                                       offset(edit(cs->getLBracLoc())));
  if (head.contains("\n#")) {
    detail = "preprocessor directive inside the function head";
    return Reason::Uneditable;
  }
  return Reason::None;
}

// Body tokens joined by single spaces, without line markers: equal for bodies
// that differ only in layout and comments.
std::string IndirectionRewriter::normalizedTokens(SourceLocation astBegin, SourceLocation astEnd) const {
  SourceLocation begin = edit(astBegin), end = edit(astEnd);
  if (begin.isInvalid() || end.isInvalid())
    return {};
  unsigned b = offset(begin), e = offset(end);
  Lexer lex(sm_.getLocForStartOfFile(editFile_), lo_, buffer_.begin(), buffer_.begin() + b,
            buffer_.end());
  std::string out;
  Token tok;
  bool skippingDirective = false;
  while (!lex.LexFromRawLexer(tok)) {
    unsigned off = offset(tok.getLocation());
    if (off > e)
      break;
    if (tok.isAtStartOfLine())
      skippingDirective = tok.is(tok::hash);
    if (!skippingDirective) {
      out += Lexer::getSpelling(tok, sm_, lo_);
      out += ' ';
    }
    if (off == e)
      break;
  }
  return out;
}

void IndirectionRewriter::describe(Candidate &c) {
  FunctionDecl *fd = c.def;
  FunctionRecord &r = c.record;
  r.name = fd->getName().str();
  r.file = presumedFile(fd->getLocation());
  r.line = presumedLine(fd->getLocation());
  r.endLine = presumedLine(fd->getEndLoc());
  r.external = fd->isExternallyVisible();
  std::string proto = fmt::format("{} {} {}", r.external ? "extern" : "static",
                                  fd->getType().getCanonicalType().getAsString(), r.name);
  r.protoHash = hexHash(proto);
  if (auto *cs = dyn_cast_or_null<CompoundStmt>(fd->getBody()))
    r.bodyHash = hexHash(normalizedTokens(cs->getLBracLoc(), cs->getRBracLoc()));
  BodyScanner scan;
  scan.TraverseStmt(fd->getBody());
  std::set<std::string> callees;
  for (const CallExpr *ce : scan.calls)
    if (const FunctionDecl *callee = directCallee(ce, nullptr))
      callees.insert(callee->getName().str());
  r.calls.assign(callees.begin(), callees.end());
  r.effects = functionEffects(ctx_, fd, opts_.kernel);
}

// The location just past the ';' ending the declaration statement that
// contains `d` (a group like `int a, f(void);` ends at its ';').
SourceLocation IndirectionRewriter::endOfDeclStatement(const Decl *d) const {
  SourceLocation end = edit(d->getEndLoc());
  if (end.isInvalid())
    return {};
  unsigned start = offset(end);
  Lexer lex(sm_.getLocForStartOfFile(editFile_), lo_, buffer_.begin(), buffer_.begin() + start,
            buffer_.end());
  Token tok;
  int depth = 0;
  while (!lex.LexFromRawLexer(tok)) {
    if (tok.isOneOf(tok::l_paren, tok::l_brace, tok::l_square))
      ++depth;
    else if (tok.isOneOf(tok::r_paren, tok::r_brace, tok::r_square))
      --depth;
    else if (tok.is(tok::semi) && depth <= 0)
      return tok.getEndLoc();
    else if (tok.is(tok::eof))
      break;
  }
  return {};
}

// Decides where the forward declarations of body and pointer go: right after
// the first file-scope declaration of f in editable text, or just before the
// definition.
bool IndirectionRewriter::planInsertion(Candidate &c) {
  FunctionDecl *def = c.def;
  unsigned defOffset = offset(edit(def->getBeginLoc()));
  std::vector<const FunctionDecl *> decls;
  for (const FunctionDecl *d : def->redecls())
    if (d != def && editable(d->getLocation()) && offset(edit(d->getLocation())) < defOffset)
      decls.push_back(d);
  std::sort(decls.begin(), decls.end(), [&](const FunctionDecl *a, const FunctionDecl *b) {
    return offset(edit(a->getLocation())) < offset(edit(b->getLocation()));
  });
  for (const FunctionDecl *d : decls) {
    if (d->isImplicit() || !d->getLexicalDeclContext()->isFileContext())
      continue;
    SourceLocation after = endOfDeclStatement(d);
    if (after.isInvalid() || offset(after) > defOffset)
      continue;
    c.insertOffset = offset(after);
    return true;
  }
  c.insertOffset = defOffset;
  return true;
}

void IndirectionRewriter::editDefinition(Candidate &c) {
  FunctionDecl *fd = c.def;
  auto *cs = cast<CompoundStmt>(fd->getBody());
  const std::string name = fd->getName().str();
  const std::string body = "__dsu_v0_" + name;
  const std::string ptr = "__dsu_fp_" + name;
  const bool internal = !fd->isExternallyVisible();

  // The head as written, folded onto one line.
  const SourceLocation begin = edit(fd->getBeginLoc()), nameLoc = edit(fd->getLocation());
  std::string head =
      buffer_.slice(headStart(fd, offset(begin)), offset(edit(cs->getLBracLoc()))).str();
  std::replace(head.begin(), head.end(), '\n', ' ');
  while (!head.empty() && (head.back() == ' ' || head.back() == '\t'))
    head.pop_back();

  // Forward declarations: the body with f's type, and the pointer.
  std::string fwd = fmt::format(" static __typeof__({0}) {1}; {2}__typeof__({0}) *{3} = {1}; ",
                                name, body, internal ? "static " : "", ptr);
  SourceLocation insertAt = sm_.getComposedLoc(editFile_, c.insertOffset);
  if (c.insertOffset == offset(begin))
    rw_.InsertTextBefore(insertAt, head + ";" + fwd);
  else
    rw_.InsertTextAfter(insertAt, fwd);

  // The definition becomes the version-0 body with internal linkage.
  if (fd->getStorageClass() == SC_None) {
    // After the forward declarations inserted at the same place.
    rw_.InsertTextAfter(begin, "static ");
  } else if (fd->getStorageClass() == SC_Extern) {
    // Replace the written 'extern' keyword.
    unsigned b = offset(begin), e = offset(nameLoc);
    Lexer lex(sm_.getLocForStartOfFile(editFile_), lo_, buffer_.begin(), buffer_.begin() + b,
              buffer_.end());
    Token tok;
    while (!lex.LexFromRawLexer(tok) && offset(tok.getLocation()) < e) {
      if (tok.is(tok::raw_identifier) && tok.getRawIdentifier() == "extern") {
        rw_.ReplaceText(tok.getLocation(), tok.getLength(), "static");
        break;
      }
    }
  }
  rw_.ReplaceText(nameLoc, name.size(), body);

  // __func__ and __PRETTY_FUNCTION__ in the moved body must still say what
  // they said in f (assert() messages quote them).
  BodyScanner scan;
  scan.TraverseStmt(cs);
  for (const PredefinedExpr *pe : scan.predefined) {
    SourceLocation at = edit(pe->getLocation());
    Token tok;
    if (at.isInvalid() || Lexer::getRawToken(at, tok, sm_, lo_))
      continue;
    rw_.ReplaceText(at, tok.getLength(), fmt::format("({})", predefinedLiteral(pe, fd)));
  }

  // Stub and descriptor, on the line of the closing brace.
  std::string args;
  for (const ParmVarDecl *p : fd->parameters()) {
    if (!args.empty())
      args += ", ";
    args += p->getName().str();
  }
  const bool isVoid = fd->getReturnType()->isVoidType();
  std::string call = fmt::format("{}({})", ptr, args);
  std::string stubBody = isVoid ? call + ";" : "return " + call + ";";
  if (fd->isNoReturn())
    stubBody += " __builtin_trap();";
  std::string section = opts_.kernel ? "" : ", __section__(\"__dsu_funcs\")";
  std::string stub = fmt::format(
      " {} {{ {} }} static struct __dsu_func_desc __dsu_desc_{} "
      "__attribute__((__used__, __aligned__(8){})) = {{ DSU_ABI_VERSION, 0, \"{}\", "
      "__dsu_tu_name, (void **)&{}, (void *){}, (void *){}, __dsu_unit_hash }};",
      head, stubBody, name, section, name, ptr, body, name);
  rw_.InsertTextAfterToken(edit(cs->getRBracLoc()), stub);
}

std::string IndirectionRewriter::varDescriptor(const VarDecl *vd, const std::string &cname,
                                               const std::string &regName, bool local) const {
  unsigned flags = (local ? 1u : 0u) | (vd->getType().isConstQualified() ? 2u : 0u);
  std::string section = opts_.kernel ? "" : ", __section__(\"__dsu_vars\")";
  return fmt::format(" static struct __dsu_var_desc {} __attribute__((__used__, __aligned__(8){})) "
                     "= {{ DSU_ABI_VERSION, {}u, \"{}\", __dsu_tu_name, (void *)&{}, "
                     "sizeof({}), __dsu_unit_hash }};",
                     cname, section, flags, escapeC(regName), vd->getName().str(),
                     vd->getName().str());
}

// Static locals of an updateable function: a descriptor right after each
// declaration statement, in the same scope (a file-scope initializer cannot
// take a local's address).
void IndirectionRewriter::registerStaticLocals(Candidate &c) {
  StaticLocalScanner scan;
  scan.TraverseStmt(c.def->getBody());
  scan.finish();
  std::map<std::string, unsigned> seen;
  unsigned index = 0;
  for (const auto &l : scan.locals) {
    const VarDecl *vd = l.var;
    VariableRecord r;
    unsigned n = ++seen[vd->getName().str()];
    r.name = fmt::format("{}.{}", c.def->getName().str(), vd->getName().str());
    if (n > 1)
      r.name += fmt::format("#{}", n);
    r.function = c.def->getName().str();
    r.file = presumedFile(vd->getLocation());
    r.line = presumedLine(vd->getLocation());
    r.isConst = vd->getType().isConstQualified();
    r.type = vd->getType().getCanonicalType().getAsString();
    SourceLocation end = l.stmt ? edit(l.stmt->getEndLoc()) : SourceLocation();
    if (!l.stmt)
      r.why = "not declared directly in a block";
    else if (end.isInvalid())
      r.why = "its declaration is not in editable text";
    else if (registrableStatic(vd, r.why)) {
      r.registered = true;
      rw_.InsertTextAfterToken(
          end, varDescriptor(vd, fmt::format("__dsu_vdesc_{}_{}", vd->getName().str(), ++index),
                             r.name, true));
    }
    variables_.push_back(std::move(r));
  }
}

// File-scope statics of the unit's own source: descriptors appended at the
// end of the unit, where every definition is complete.
void IndirectionRewriter::registerFileStatics() {
  std::string text;
  std::set<const VarDecl *> done;
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
    auto *vd = dyn_cast<VarDecl>(d);
    if (!vd || vd->getStorageClass() != SC_Static || !vd->isFileVarDecl())
      continue;
    if (!done.insert(vd->getCanonicalDecl()).second)
      continue;
    const VarDecl *def = vd->getDefinition() ? vd->getDefinition() : vd->getActingDefinition();
    if (!def)
      continue;
    std::string file = presumedFile(def->getLocation());
    if (!isSourceFile(file))
      continue;
    // Unreferenced statics are not state anyone could need (and taking
    // their address would keep them alive).
    if (!vd->isReferenced() && !vd->isUsed())
      continue;
    VariableRecord r;
    r.name = vd->getName().str();
    r.file = file;
    r.line = presumedLine(def->getLocation());
    r.isConst = vd->getType().isConstQualified();
    r.type = def->getType().getCanonicalType().getAsString();
    if (opts_.fileExcluded)
      r.why = "the file is not instrumented";
    else if (registrableStatic(def, r.why)) {
      r.registered = true;
      text += varDescriptor(def, "__dsu_vdesc_" + r.name, r.name, false);
    }
    variables_.push_back(std::move(r));
  }
  if (text.empty() || opts_.fileExcluded)
    return;
  // On a line of its own after the unit's last line (which may end in a
  // comment or be a directive): nothing before it moves.
  unsigned at = buffer_.size();
  if (at > 0 && buffer_[at - 1] != '\n')
    text = "\n" + text;
  rw_.InsertTextAfter(sm_.getComposedLoc(editFile_, at), text + "\n");
}

// The declaration's source range starts after leading GNU attributes
// (`__attribute__((__cold__)) int f(...)`); the stub must repeat them.
unsigned IndirectionRewriter::headStart(const FunctionDecl *fd, unsigned begin) const {
  unsigned earliest = begin;
  for (const Attr *a : fd->attrs()) {
    if (a->isInherited() || a->isImplicit())
      continue;
    SourceLocation at = edit(a->getLocation());
    if (at.isValid() && offset(at) < earliest)
      earliest = offset(at);
  }
  if (earliest == begin)
    return begin;
  // Find the `__attribute__` keyword that opens the earliest attribute.
  unsigned from = earliest > 512 ? earliest - 512 : 0;
  Lexer lex(sm_.getLocForStartOfFile(editFile_), lo_, buffer_.begin(), buffer_.begin() + from,
            buffer_.end());
  Token tok;
  unsigned keyword = begin;
  while (!lex.LexFromRawLexer(tok) && offset(tok.getLocation()) < earliest) {
    if (tok.is(tok::raw_identifier) &&
        (tok.getRawIdentifier() == "__attribute__" || tok.getRawIdentifier() == "__attribute"))
      keyword = offset(tok.getLocation());
  }
  return keyword < earliest ? keyword : begin;
}

void IndirectionRewriter::editCalls() {
  for (Candidate &c : candidates_) {
    // Calls in code that must not make indirect calls (noinstr, naked,
    // special sections) or that is not this unit's text stay as they are.
    switch (c.record.reason) {
    case Reason::Noinstr:
    case Reason::Naked:
    case Reason::ExplicitSection:
    case Reason::AlwaysInline:
    case Reason::HeaderFunction:
    case Reason::ExternInline:
    case Reason::Uneditable:
    case Reason::NeedsInlining:
    case Reason::PolicyFile:
    case Reason::NeverIndirectable:
      continue;
    default:
      break;
    }
    BodyScanner scan;
    scan.TraverseStmt(c.def->getBody());
    for (const CallExpr *ce : scan.calls) {
      const DeclRefExpr *ref = nullptr;
      const FunctionDecl *callee = directCallee(ce, &ref);
      if (!callee)
        continue;
      auto it = updateable_.find(callee->getCanonicalDecl());
      if (it == updateable_.end())
        continue;
      // Calls to noreturn functions go to the stub, which ends in a trap:
      // an indirect call cannot tell objtool and the unwinder that it does
      // not return.
      if (callee->isNoReturn())
        continue;
      const Candidate &target = candidates_[it->second];
      std::optional<CharSourceRange> range;
      if (opts_.preprocessed) {
        if (SourceLocation at = edit(ref->getLocation()); at.isValid())
          range = CharSourceRange::getTokenRange(at, at);
      } else {
        // Unpreprocessed input: macro arguments are editable where spelled.
        range = tooling::getFileRangeForEdit(
            CharSourceRange::getTokenRange(ref->getLocation(), ref->getLocation()), sm_, lo_,
            /*IncludeMacroExpansion=*/false);
      }
      if (!range || sm_.getFileID(range->getBegin()) != editFile_)
        continue;
      // A macro argument used twice is one spelling: edit it once.
      if (!editedCalls_.insert(offset(range->getBegin())).second) {
        ++c.record.callsRewritten;
        ++callsRewritten_;
        continue;
      }
      // Before the pointer is declared the call goes to the stub, which is
      // just as correct.
      if (offset(range->getBegin()) < target.insertOffset)
        continue;
      rw_.ReplaceText(*range, "__dsu_fp_" + callee->getName().str());
      ++c.record.callsRewritten;
      ++callsRewritten_;
    }
  }
}

// The ABI header and the unit's name, entered like an included file so that
// the unit's first line marker (which names the compile unit in debug info)
// stays the original source's.
std::string IndirectionRewriter::prelude(bool afterMarker) const {
  PresumedLoc start = sm_.getPresumedLoc(sm_.getLocForStartOfFile(mainFile_));
  std::string mainName = start.isValid() ? start.getFilename() : opts_.tuName;
  std::string tu = escapeCString(opts_.tuName);
  return fmt::format("{}# 1 \"<dsu-abi>\" 1\n{}\nstatic const char __dsu_tu_name[] "
                     "__attribute__((__unused__)) = \"{}\";\nstatic const char "
                     "__dsu_unit_hash[] __attribute__((__unused__)) = \"{}\";\n# 1 \"{}\" 2\n",
                     afterMarker ? "" : fmt::format("# 1 \"{}\"\n", mainName), abiHeaderText(), tu,
                     escapeC(opts_.unitHash), mainName);
}

RewriteResult IndirectionRewriter::run() {
  collectAliasTargets();
  findAssertionDependencies();
  // Header functions are listed (and described) only when this unit emits
  // them: the unit's own functions are the roots.
  std::vector<Candidate> defined;
  std::vector<const FunctionDecl *> roots;
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
    auto *fd = dyn_cast<FunctionDecl>(d);
    if (!fd || !fd->doesThisDeclarationHaveABody())
      continue;
    Candidate c;
    c.def = fd;
    c.record.reason = classify(fd, c.record.detail);
    if (c.record.reason != Reason::HeaderFunction || fd->hasExternalFormalLinkage())
      roots.push_back(fd->getCanonicalDecl());
    defined.push_back(std::move(c));
  }
  ReferenceGraph graph;
  graph.TraverseDecl(ctx_.getTranslationUnitDecl());
  std::set<const FunctionDecl *> emitted = graph.reachable(roots);
  for (Candidate &c : defined) {
    if (c.record.reason == Reason::HeaderFunction && !emitted.count(c.def->getCanonicalDecl()))
      continue;
    describe(c);
    c.record.updateable = c.record.reason == Reason::None;
    candidates_.push_back(std::move(c));
  }
  for (size_t i = 0; i < candidates_.size(); ++i) {
    Candidate &c = candidates_[i];
    if (!c.record.updateable)
      continue;
    planInsertion(c);
    updateable_[c.def->getCanonicalDecl()] = i;
  }

  RewriteResult result;
  for (Candidate &c : candidates_)
    if (c.record.updateable) {
      editDefinition(c);
      registerStaticLocals(c);
    }
  editCalls();
  bool wrapped = false;
  wrapTypes(TypeWrapInput{ctx_, rw_, [this](SourceLocation l) { return edit(l); }, opts_},
            result.types, wrapped);
  if (!updateable_.empty() || wrapped)
    registerFileStatics();
  if (!updateable_.empty() || wrapped) {
    if (opts_.emitPrelude) {
      // After the unit's first line marker when it starts with one (-E output).
      unsigned at = 0;
      if (buffer_.starts_with("# 1 ") && buffer_.find('\n') != llvm::StringRef::npos)
        at = buffer_.find('\n') + 1;
      rw_.InsertTextBefore(sm_.getComposedLoc(editFile_, at), prelude(at != 0));
    }
    const auto *rb = rw_.getRewriteBufferFor(editFile_);
    result.text = rb ? std::string(rb->begin(), rb->end()) : buffer_.str();
    result.changed = true;
  }

  for (Candidate &c : candidates_)
    result.functions.push_back(std::move(c.record));
  result.variables = std::move(variables_);
  result.addressTaken = addressTakenFunctions(ctx_, result.fieldStores);
  result.callsRewritten = callsRewritten_;
  return result;
}

} // namespace

RewriteResult rewriteTranslationUnit(ASTContext &ctx, const RewriteOptions &opts) {
  IndirectionRewriter r(ctx, opts);
  return r.run();
}

} // namespace dsu
