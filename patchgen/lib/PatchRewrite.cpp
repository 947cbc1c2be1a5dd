// The patch rewrite: a changed unit's new version edited into its patch code.
#include "PatchRewriter.h"

#include "Indirection.h"
#include "Reasons.h"
#include "TypeWrapping.h"

#include <clang/AST/Attr.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/Stmt.h>
#include <clang/Lex/Lexer.h>

#include <algorithm>
#include <deque>
#include <functional>

extern "C" {
#include "dsu/abi.h"
}

using namespace clang;

namespace dsu {

namespace {

// The first label address (`&&l`) in a static local's initializer: such a
// value points into its function's code, so the running instance is only
// right for the running (old) version of the function.
const AddrLabelExpr *labelAddressIn(const Stmt *s) {
  if (!s)
    return nullptr;
  if (const auto *al = dyn_cast<AddrLabelExpr>(s))
    return al;
  for (const Stmt *c : s->children())
    if (const AddrLabelExpr *al = labelAddressIn(c))
      return al;
  return nullptr;
}

// A use of a variable that may change it: `assigned` when it (or an element
// or member) is stored to or incremented there, else its address escapes
// (the array decayed to a pointer that goes anywhere but into a read).
struct RuntimeWrite {
  const Expr *at = nullptr;
  bool assigned = false;
};

// Follows one reference up through what only reads: element and member
// selection, pointer arithmetic on the decayed array, the load, sizeof. The
// parent map is the AST's (implicit casts included).
RuntimeWrite writeThrough(ASTContext &ctx, const DeclRefExpr *ref) {
  bool pointer = false; // false: an lvalue of the variable or part of it
  const Expr *cur = ref;
  while (true) {
    auto parents = ctx.getParents(*cur);
    const Expr *p = parents.size() == 1 ? parents[0].get<Expr>() : nullptr;
    if (!p)
      return {cur, false}; // used as a statement's operand: conservatively an escape
    if (isa<ParenExpr>(p)) {
      cur = p;
      continue;
    }
    if (const auto *ic = dyn_cast<ImplicitCastExpr>(p)) {
      if (!pointer && ic->getCastKind() == CK_LValueToRValue)
        return {};
      if (!pointer && ic->getCastKind() == CK_ArrayToPointerDecay)
        pointer = true;
      else if (ic->getCastKind() != CK_NoOp)
        return {p, false};
      cur = p;
      continue;
    }
    if (pointer) {
      if (const auto *as = dyn_cast<ArraySubscriptExpr>(p); as && as->getBase() == cur) {
        pointer = false;
      } else if (const auto *uo = dyn_cast<UnaryOperator>(p); uo && uo->getOpcode() == UO_Deref) {
        pointer = false;
      } else if (const auto *me = dyn_cast<MemberExpr>(p);
                 me && me->isArrow() && me->getBase() == cur) {
        pointer = false; // tab->field: a member of the first element
      } else if (const auto *bo = dyn_cast<BinaryOperator>(p);
                 bo && (bo->isAdditiveOp() || bo->isComparisonOp())) {
        if (!bo->getType()->isPointerType())
          return {}; // a comparison or a difference: a number
      } else {
        return {p, false};
      }
      cur = p;
      continue;
    }
    if (isa<UnaryExprOrTypeTraitExpr>(p))
      return {};
    if (const auto *me = dyn_cast<MemberExpr>(p); me && !me->isArrow() && me->getBase() == cur) {
      cur = p;
      continue;
    }
    const auto *bo = dyn_cast<BinaryOperator>(p);
    const auto *uo = dyn_cast<UnaryOperator>(p);
    return {p, (bo && bo->isAssignmentOp() && bo->getLHS() == cur) ||
                   (uo && uo->isIncrementDecrementOp())};
  }
}

// The static locals of a function (blocks do not make declaration contexts
// of their own in C, so the body is walked).
class StaticLocalCollector : public RecursiveASTVisitor<StaticLocalCollector> {
public:
  std::vector<VarDecl *> vars;
  bool VisitVarDecl(VarDecl *vd) {
    if (vd->isStaticLocal())
      vars.push_back(vd);
    return true;
  }
};

} // namespace

std::string PatchRewriter::prelude() const {
  return fmt::format("# 1 \"<dsu-abi>\" 1\n{}\nstatic const char __dsu_tu_name[] "
                     "__attribute__((__unused__)) = \"{}\";\nvoid *__dsu_refs_{}[{}];\n",
                     abiHeaderText(), escapeCString(base_.tu), plan_.index,
                     refs_.empty() ? 1 : refs_.size());
}

void PatchRewriter::handleRef(DeclRefExpr *r, const FunctionDecl *in, bool inInitializer) {
  ValueDecl *d = r->getDecl();
  const std::string name = d->getName().str();
  if (auto *fd = dyn_cast<FunctionDecl>(d)) {
    // Builtins, and compile-time assertions (error/warning attributes),
    // which only compile because the optimizer removes their calls.
    if (fd->getBuiltinID() || fd->hasAttr<ErrorAttr>())
      return;
    const FunctionDecl *def = fd->getDefinition();
    if (!def && plan_.deleted.count(name)) {
      const bool call = isCallee(r);
      std::string user = in ? in->getName().str() + "()" : "the patch code";
      if (initializing_)
        user = "the initializer of '" + initializing_->getName().str() + "'";
      deletedUses_.push_back(
          {name, fd->isExternallyVisible(),
           fmt::format("{}: error: {} {} {}(), which the new version deletes: the patch has no "
                       "code for it, so the patch code would {} the running program's old "
                       "{}(); keep {}(), or remove the {}",
                       where(r->getLocation()), user, call ? "calls" : "refers to", name,
                       call ? "call" : "use", name, name, call ? "call" : "reference")});
    }
    if (def && !inSource(def))
      return; // a header's inline function: the patch code has its own copy
    const bool definedHere = def && inSource(def);
    if (definedHere && plan_.added.count(name)) {
      // Calls after the pointer's declaration go through it, so that a
      // later patch can replace the function this one adds.
      auto it = addedPointerAt_.find(def);
      SourceLocation at = edit(r->getLocation());
      if (it != addedPointerAt_.end() && at.isValid() && offset(at) > it->second && !inInitializer) {
        if (edited_.insert(offset(at)).second)
          rw_.ReplaceText(at, name.size(), DSU_PTR_PREFIX + name);
      }
      return;
    }
    if (definedHere && baseUpdateable(name)) {
      if (inInitializer) {
        errors_.push_back(fmt::format(
            "{}: error: the initializer of a variable the patch adds refers to {}(), which the "
            "patch reaches only at run time; refer to it from code instead",
            where(r->getLocation()), name));
        return;
      }
      replaceRef(r, slot(DSU_REF_FUNC, base_.tu, name));
      return;
    }
    if (definedHere && !fd->isExternallyVisible())
      return; // a static helper the patch carries a copy of
    if (!definedHere && base_.patchGlobals.count(name)) {
      replaceRef(r, slot(DSU_REF_SYMBOL, "", name));
      return;
    }
    // The kernel's updateable functions are reached through the registry
    // by their unit; others by name.
    if (needsSymbolRef(name))
      unexportedRef(r, name, inInitializer);
    return;
  }
  auto *vd = dyn_cast<VarDecl>(d);
  if (!vd || (!vd->hasGlobalStorage() && !vd->isStaticLocal()))
    return;
  if (vd->isStaticLocal()) {
    const auto *owner = dyn_cast<FunctionDecl>(vd->getDeclContext());
    if (!owner || !plan_.replaced.count(owner->getName().str()))
      return; // a new function's own state
    if (ownStaticLocal(vd))
      return; // see runningStaticLocal
    std::string regName = staticLocalName(owner, vd);
    if (runningStaticLocal(owner, vd)) {
      if (inInitializer) {
        errors_.push_back(fmt::format("{}: error: the initializer of a static local the patch "
                                      "adds refers to static local '{}' of {}(), which the "
                                      "patch reaches only at run time",
                                      where(r->getLocation()), vd->getName().str(),
                                      owner->getName().str()));
        return;
      }
      replaceRef(r, slot(DSU_REF_VAR, base_.tu, regName));
      return;
    }
    if (auto it = base_.unregisteredVars.find(regName); it != base_.unregisteredVars.end()) {
      errors_.push_back(fmt::format("{}: error: static local '{}' of {}() is not registered in "
                                    "the running program ({}), so the new version cannot reach "
                                    "its state",
                                    where(r->getLocation()), vd->getName().str(),
                                    owner->getName().str(), it->second));
      return;
    }
    return; // new in this version
  }
  const VarDecl *def = vd->getDefinition() ? vd->getDefinition() : vd->getActingDefinition();
  const bool definedHere = def && inSource(def);
  if (definedHere && plan_.addedVars.count(name))
    return;
  if (definedHere && !vd->isExternallyVisible()) {
    if (base_.registeredVars.count(name)) {
      if (inInitializer) {
        errors_.push_back(fmt::format("{}: error: the initializer of a variable the patch adds "
                                      "refers to '{}', which the patch reaches only at run time",
                                      where(r->getLocation()), name));
        return;
      }
      replaceRef(r, slot(DSU_REF_VAR, base_.tu, name));
      return;
    }
    auto it = base_.unregisteredVars.find(name);
    errors_.push_back(fmt::format(
        "{}: error: static variable '{}' is not registered in the running program{}, so the "
        "patch cannot reach it",
        where(r->getLocation()), name,
        it == base_.unregisteredVars.end() ? "" : fmt::format(" ({})", it->second)));
    return;
  }
  if (!definedHere && vd->isExternallyVisible() && base_.patchGlobals.count(name) && !inInitializer) {
    replaceRef(r, slot(DSU_REF_SYMBOL, "", name));
    return;
  }
  if (vd->isExternallyVisible() && needsSymbolRef(name))
    unexportedRef(r, "'" + name + "'", inInitializer);
}

// A kernel symbol the patch module cannot link against: a DSU_REF_SYMBOL
// slot, filled before the patch runs, so not in an added variable's
// initializer (it is data, compiled before). `shown`: the name as the
// error names it.
void PatchRewriter::unexportedRef(DeclRefExpr *r, const std::string &shown, bool inInitializer) {
  const std::string name = r->getDecl()->getName().str();
  if (inInitializer) {
    errors_.push_back(fmt::format("{}: error: the initializer of a variable the patch adds "
                                  "refers to {}, which the kernel does not export",
                                  where(r->getLocation()), shown));
    return;
  }
  replaceRef(r, slot(DSU_REF_SYMBOL, "", name));
}

// A replaced function's static locals whose initializers take label
// addresses: the patch's own data (its entries must point into the new
// code). One that the function writes at run time has state a fresh copy
// would lose, and the running one jumps into the old code: refused.
void PatchRewriter::labelTables(FunctionDecl *fd) {
  StaticLocalCollector sc;
  sc.TraverseStmt(fd->getBody());
  for (VarDecl *vd : sc.vars) {
    if (vd->getType().isConstant(ctx_) || !labelAddressIn(vd->getInit()))
      continue;
    labelTables_.insert(vd);
    RefCollector rc;
    rc.TraverseStmt(fd->getBody());
    for (DeclRefExpr *r : rc.refs) {
      if (r->getDecl() != vd)
        continue;
      RuntimeWrite w = writeThrough(ctx_, r);
      if (!w.at)
        continue;
      errors_.push_back(fmt::format(
          "{}: error: static local '{}' of {}() holds label addresses (computed goto) and {} "
          "here: the running table points into the old code, and the patch's own copy would "
          "lose what the program wrote into it; only a table nothing writes can follow its "
          "labels (if nothing needs to write it, make it const)",
          where(r->getLocation()), vd->getName().str(), fd->getName().str(),
          w.assigned ? "is written" : "its address escapes"));
      break;
    }
  }
}

// Code the patch leaves to the running program (unchanged functions, the
// initializers of existing variables) that still uses a function the new
// version deletes: the running code keeps using the old one. A warning at
// each use (the new version would not link as a program either).
void PatchRewriter::deletedCallers() {
  if (plan_.deleted.empty())
    return;
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
    if (!dropped_.count(d) || !inSource(d))
      continue;
    RefCollector rc;
    rc.TraverseDecl(d);
    for (DeclRefExpr *r : rc.refs) {
      auto *fd = dyn_cast<FunctionDecl>(r->getDecl());
      if (!fd || fd->getDefinition() || !plan_.deleted.count(fd->getName().str()))
        continue;
      const std::string g = fd->getName().str();
      if (const auto *user = dyn_cast<FunctionDecl>(d))
        warnings_.push_back(fmt::format(
            "{}: warning: {}() still {} {}(), which the new version deletes; {}() is unchanged, "
            "so the running program's {}() keeps using the old {}()",
            where(r->getLocation()), user->getName().str(), isCallee(r) ? "calls" : "refers to",
            g, user->getName().str(), user->getName().str(), g));
      else
        warnings_.push_back(fmt::format(
            "{}: warning: the initializer of '{}' refers to {}(), which the new version "
            "deletes; the running program's '{}' keeps pointing at the old {}()",
            where(r->getLocation()), cast<NamedDecl>(d)->getName().str(), g,
            cast<NamedDecl>(d)->getName().str(), g));
    }
  }
}

void PatchRewriter::dropBody(FunctionDecl *fd) {
  auto *cs = dyn_cast<CompoundStmt>(fd->getBody());
  SourceLocation l = cs ? edit(cs->getLBracLoc()) : SourceLocation();
  SourceLocation r = cs ? edit(cs->getRBracLoc()) : SourceLocation();
  if (l.isInvalid() || r.isInvalid() || offset(r) < offset(l)) {
    errors_.push_back(fmt::format("{}: error: cannot remove the unchanged body of {}()",
                                  where(fd->getLocation()), fd->getName().str()));
    return;
  }
  // Newlines stay, so the line markers keep matching.
  std::string keep = ";";
  for (char ch : buffer_.slice(offset(l), offset(r) + 1))
    if (ch == '\n')
      keep += '\n';
  rw_.ReplaceText(SourceRange(l, r), keep);
  dropped_.insert(fd);
}

void PatchRewriter::renameReplaced(FunctionDecl *fd) {
  const std::string name = fd->getName().str();
  SourceLocation nameLoc = edit(fd->getLocation()), begin = edit(fd->getBeginLoc());
  if (nameLoc.isInvalid() || begin.isInvalid()) {
    errors_.push_back(fmt::format("{}: error: cannot edit the definition of {}()",
                                  where(fd->getLocation()), name));
    return;
  }
  // External linkage under a patch-unique name: the patch table refers to it.
  unsigned b = offset(begin), e = offset(nameLoc);
  Lexer lex(sm_.getLocForStartOfFile(map_.file), lo_, buffer_.begin(), buffer_.begin() + b,
            buffer_.end());
  Token tok;
  while (!lex.LexFromRawLexer(tok) && offset(tok.getLocation()) < e)
    if (tok.is(tok::raw_identifier) &&
        (tok.getRawIdentifier() == "static" || tok.getRawIdentifier() == "extern"))
      rw_.RemoveText(tok.getLocation(), tok.getLength());
  // The original name stays declared (references elsewhere in the patch
  // code, `__typeof__(f)`, name it).
  auto *cs = cast<CompoundStmt>(fd->getBody());
  SourceLocation lbrace = edit(cs->getLBracLoc());
  if (lbrace.isValid() && offset(lbrace) > b) {
    std::string head = buffer_.slice(b, offset(lbrace)).str();
    std::replace(head.begin(), head.end(), '\n', ' ');
    rw_.InsertTextBefore(begin, head + "; ");
  }
  rw_.ReplaceText(nameLoc, name.size(), fmt::format("__dsu_p{}_{}", plan_.index, name));
  RefCollector rc;
  rc.TraverseStmt(fd->getBody());
  for (PredefinedExpr *pe : rc.predefined) {
    SourceLocation at = edit(pe->getLocation());
    Token t;
    if (at.isInvalid() || Lexer::getRawToken(at, t, sm_, lo_))
      continue;
    // The text clang gives the original function (its name, or for
    // __PRETTY_FUNCTION__ its signature), as dsu-cc writes it.
    rw_.ReplaceText(at, t.getLength(), "(" + predefinedLiteral(pe, fd) + ")");
  }
}

void PatchRewriter::addedFunction(FunctionDecl *fd) {
  const std::string name = fd->getName().str();
  // The pointer goes right after the first file-scope declaration, so calls
  // in code that follows it use it.
  const FunctionDecl *first = fd;
  for (const FunctionDecl *d : fd->redecls())
    if (d->getLexicalDeclContext()->isFileContext() && edit(d->getLocation()).isValid() &&
        offset(edit(d->getLocation())) < offset(edit(first->getLocation())))
      first = d;
  SourceLocation after;
  if (first == fd) {
    auto *cs = dyn_cast<CompoundStmt>(fd->getBody());
    after = cs ? edit(cs->getRBracLoc()) : SourceLocation();
  } else {
    // The ';' ending the prototype's statement.
    SourceLocation end = edit(first->getEndLoc());
    if (end.isValid()) {
      Lexer lex(sm_.getLocForStartOfFile(map_.file), lo_, buffer_.begin(),
                buffer_.begin() + offset(end), buffer_.end());
      Token tok;
      while (!lex.LexFromRawLexer(tok))
        if (tok.is(tok::semi) || tok.is(tok::eof)) {
          if (tok.is(tok::semi))
            after = tok.getLocation();
          break;
        }
    }
  }
  if (after.isInvalid())
    return; // calls stay direct; the function is still registered
  rw_.InsertTextAfterToken(after, fmt::format(" static __typeof__({0}) *" DSU_PTR_PREFIX "{0} = {0};", name));
  addedPointerAt_[fd] = offset(after);
  tail_ += fmt::format("struct __dsu_func_desc __dsu_pdesc_{}_{} = {{ DSU_ABI_VERSION, 0, \"{}\", "
                       "__dsu_tu_name, (void **)&" DSU_PTR_PREFIX "{}, (void *){}, (void *){}, \"{}\" }};\n",
                       plan_.index, name, name, name, name, name, escapeCString(opts_.unitHash));
}

// An existing global keeps its running instance: the patch only declares it.
void PatchRewriter::externalizeVar(VarDecl *vd) {
  dropped_.insert(vd);
  SourceLocation begin = edit(vd->getBeginLoc());
  if (begin.isInvalid()) {
    errors_.push_back(fmt::format("{}: error: cannot edit the definition of '{}'",
                                  where(vd->getLocation()), vd->getName().str()));
    return;
  }
  if (externed_.insert(offset(begin)).second) {
    // `static T v` -> `extern T v`: the same object's declaration (an
    // earlier static declaration keeps its linkage), nothing emitted.
    SourceLocation name = edit(vd->getLocation());
    if (name.isValid()) {
      Lexer lex(sm_.getLocForStartOfFile(map_.file), lo_, buffer_.begin(),
                buffer_.begin() + offset(begin), buffer_.end());
      Token tok;
      while (!lex.LexFromRawLexer(tok) && offset(tok.getLocation()) < offset(name))
        if (tok.is(tok::raw_identifier) && tok.getRawIdentifier() == "static")
          rw_.RemoveText(tok.getLocation(), tok.getLength());
    }
    rw_.InsertTextBefore(begin, "extern ");
  }
  // `T v[] = {...}` -> `extern T v[N]`: the size came from the initializer,
  // and code the patch keeps may take sizeof(v).
  if (const auto *cat = ctx_.getAsConstantArrayType(vd->getType())) {
    SourceLocation name = edit(vd->getLocation());
    if (name.isValid()) {
      Lexer lex(sm_.getLocForStartOfFile(map_.file), lo_, buffer_.begin(),
                buffer_.begin() + offset(name), buffer_.end());
      Token id, open, close;
      if (!lex.LexFromRawLexer(id) && !lex.LexFromRawLexer(open) && open.is(tok::l_square) &&
          !lex.LexFromRawLexer(close) && close.is(tok::r_square))
        rw_.InsertTextAfterToken(open.getLocation(),
                                 std::to_string(cat->getSize().getZExtValue()));
    }
  }
  // The initializer goes: the running program's storage is used, and what
  // it names (a static function, say) need not exist in the patch. Its `=`
  // is the last one before the initializer's first token: the declarator
  // may hold parentheses around the name (`void (*cb)(void) = handler`) and
  // attributes before it.
  if (const Expr *init = vd->getInit()) {
    SourceLocation name = edit(vd->getLocation()), begin = edit(init->getBeginLoc()),
                   end = edit(init->getEndLoc());
    if (name.isInvalid() || begin.isInvalid() || end.isInvalid() ||
        offset(begin) <= offset(name) || offset(end) < offset(begin)) {
      errors_.push_back(fmt::format("{}: error: cannot remove the initializer of '{}' (the "
                                    "patch must not define the running program's variable)",
                                    where(vd->getLocation()), vd->getName().str()));
      return;
    }
    Lexer lex(sm_.getLocForStartOfFile(map_.file), lo_, buffer_.begin(),
              buffer_.begin() + offset(name), buffer_.end());
    Token tok;
    SourceLocation equal;
    while (!lex.LexFromRawLexer(tok) && offset(tok.getLocation()) < offset(begin))
      if (tok.is(tok::equal))
        equal = tok.getLocation();
    if (equal.isInvalid()) {
      errors_.push_back(fmt::format("{}: error: cannot find the '=' of the initializer of '{}'",
                                    where(vd->getLocation()), vd->getName().str()));
      return;
    }
    unsigned endTok = offset(end) + Lexer::MeasureTokenLength(end, sm_, lo_);
    std::string keep;
    for (char ch : buffer_.slice(offset(equal), endTok))
      if (ch == '\n')
        keep += '\n';
    rw_.ReplaceText(equal, endTok - offset(equal), keep);
  }
}

RewrittenUnit PatchRewriter::run() {
  RewrittenUnit out;
  std::vector<std::pair<FunctionDecl *, bool>> kept; // function, is replaced
  std::vector<VarDecl *> addedVars;
  // Static functions without a descriptor that the new code uses (inline
  // helpers, ...): the patch carries copies. Found from the replaced and
  // added functions and the added variables' initializers, transitively.
  std::set<const FunctionDecl *> copies;
  {
    std::vector<const Stmt *> work;
    for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
      if (!inSource(d))
        continue;
      if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody()) {
        if (plan_.replaced.count(fd->getName().str()) || plan_.added.count(fd->getName().str()) ||
            fromTransformerFile(fd))
          work.push_back(fd->getBody());
      } else if (auto *vd = dyn_cast<VarDecl>(d); vd && plan_.addedVars.count(vd->getName().str())) {
        work.push_back(vd->getInit());
      }
    }
    while (!work.empty()) {
      const Stmt *st = work.back();
      work.pop_back();
      RefCollector rc;
      rc.TraverseStmt(const_cast<Stmt *>(st));
      for (DeclRefExpr *r : rc.refs) {
        auto *fd = dyn_cast<FunctionDecl>(r->getDecl());
        const FunctionDecl *def = fd ? fd->getDefinition() : nullptr;
        if (!def || !inSource(def) || def->isExternallyVisible() ||
            baseUpdateable(def->getName().str()) || plan_.added.count(def->getName().str()))
          continue;
        if (copies.insert(def).second)
          work.push_back(def->getBody());
      }
    }
  }
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
    if (auto *rd = dyn_cast<RecordDecl>(d);
        rd && presumedFile(sm_, rd->getLocation()) == kRepresentationsFile) {
      // Declared for the parse of the user's transformer; the patch code
      // defines them itself (wrapTypes).
      SourceLocation b = edit(rd->getBeginLoc()), e = edit(rd->getBraceRange().getEnd());
      if (b.isValid() && e.isValid())
        rw_.ReplaceText(b, offset(e) + 1 - offset(b), "");
      continue;
    }
    if (!inSource(d))
      continue;
    if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody()) {
      const std::string name = fd->getName().str();
      if (fromTransformerFile(fd)) {
        kept.push_back({fd, false}); // the user's transformer code, as written
      } else if (plan_.replaced.count(name)) {
        kept.push_back({fd, true});
      } else if (plan_.added.count(name)) {
        kept.push_back({fd, false});
      } else if (copies.count(fd)) {
        kept.push_back({fd, false}); // a static helper: the patch carries a copy
      } else {
        dropBody(fd);
      }
    } else if (auto *vd = dyn_cast<VarDecl>(d); vd && vd->isFileVarDecl()) {
      const std::string name = vd->getName().str();
      if (fromTransformerFile(vd)) {
        // the user's own data, as written
      } else if (plan_.addedVars.count(name)) {
        if (vd->isThisDeclarationADefinition() != VarDecl::DeclarationOnly)
          addedVars.push_back(vd);
      } else if (vd->isThisDeclarationADefinition() != VarDecl::DeclarationOnly) {
        // The running program's instance is the one; a copy here could
        // still be emitted (`__used`, initcall and export tables) and point
        // at code the patch does not carry.
        externalizeVar(vd);
      }
    } else if (auto *fa = dyn_cast<FileScopeAsmDecl>(d)) {
      // Initcall and export entries, section directives of the old unit.
      SourceLocation b = edit(fa->getBeginLoc()), e = edit(fa->getEndLoc());
      if (b.isValid() && e.isValid()) {
        unsigned endTok = offset(e) + Lexer::MeasureTokenLength(e, sm_, lo_);
        std::string keep;
        for (char ch : buffer_.slice(offset(b), endTok))
          if (ch == '\n')
            keep += '\n';
        rw_.ReplaceText(b, endTok - offset(b), keep);
      }
    }
  }
  for (auto &[fd, replaced] : kept)
    if (plan_.added.count(fd->getName().str())) {
      addedFunction(fd);
      if (fd->isExternallyVisible())
        out.addedGlobals.push_back(fd->getName().str());
    }
  for (auto &[fd, replaced] : kept)
    if (replaced)
      labelTables(fd);
  for (auto &[fd, replaced] : kept) {
    RefCollector rc;
    rc.TraverseStmt(fd->getBody());
    for (size_t i = 0; i < rc.refs.size(); ++i) {
      // The initializer of a static local the running program registered
      // is dead text in the patch (the new code uses the running instance):
      // what it names stays as written (redirected, `&hits` is no
      // constant). A new or constant static local's initializer is one of
      // a variable the patch adds.
      const VarDecl *owner = rc.inStaticInit[i];
      if (owner && runningStaticLocal(fd, owner))
        continue;
      handleRef(rc.refs[i], fd, owner != nullptr);
    }
    if (replaced)
      renameReplaced(fd);
  }
  // Kernel: header inline functions the kept code uses (transitively) are
  // compiled into the module too; what they use that the kernel does not
  // export goes through symbol slots as well (lock_task_sighand() calls
  // __lock_task_sighand()).
  if (opts_.kernel) {
    std::vector<const FunctionDecl *> work;
    std::set<const FunctionDecl *> seenInline;
    auto collect = [&](const Stmt *body) {
      RefCollector rc;
      rc.TraverseStmt(const_cast<Stmt *>(body));
      for (DeclRefExpr *r : rc.refs)
        if (auto *f = dyn_cast<FunctionDecl>(r->getDecl()))
          if (const FunctionDecl *def = f->getDefinition();
              def && !inSource(def) && seenInline.insert(def).second)
            work.push_back(def);
    };
    for (auto &[fd, replaced] : kept)
      collect(fd->getBody());
    while (!work.empty()) {
      const FunctionDecl *def = work.back();
      work.pop_back();
      collect(def->getBody());
      RefCollector rc;
      rc.TraverseStmt(def->getBody());
      for (DeclRefExpr *r : rc.refs) {
        const ValueDecl *d = r->getDecl();
        const auto *f = dyn_cast<FunctionDecl>(d);
        const auto *v = dyn_cast<VarDecl>(d);
        if ((f && !f->getDefinition() && !f->getBuiltinID() && !f->hasAttr<ErrorAttr>() &&
             needsSymbolRef(f->getName().str())) ||
            (v && v->hasGlobalStorage() && v->isExternallyVisible() &&
             needsSymbolRef(v->getName().str())))
          replaceRef(r, slot(DSU_REF_SYMBOL, "", d->getName().str()));
      }
    }
  }
  std::set<std::string> varDescs;
  for (VarDecl *vd : addedVars) {
    RefCollector rc;
    rc.TraverseStmt(vd->getInit());
    initializing_ = vd;
    for (DeclRefExpr *r : rc.refs)
      handleRef(r, nullptr, true);
    initializing_ = nullptr;
    std::string why;
    const std::string name = vd->getName().str();
    if (vd->isExternallyVisible())
      out.addedGlobals.push_back(name);
    if (!vd->isExternallyVisible() && registrableStatic(vd, why) && varDescs.insert(name).second) {
      tail_ += fmt::format("struct __dsu_var_desc __dsu_pvdesc_{}_{} = {{ DSU_ABI_VERSION, {}u, "
                           "\"{}\", __dsu_tu_name, (void *)&{}, sizeof({}), \"{}\" }};\n",
                           plan_.index, name, vd->getType().isConstQualified() ? 2 : 0, name, name,
                           name, escapeCString(opts_.unitHash));
      out.newVarDescs.push_back(name);
    }
  }

  deletedCallers();
  if (!base_.wrapped.empty())
    wrapPatchTypes(out);
  if (!plan_.shadowUpdates.empty())
    shadowFields();

  // The prelude after the unit's first line marker, the tables at its end.
  unsigned at = 0;
  if (buffer_.starts_with("# ") && buffer_.find('\n') != llvm::StringRef::npos)
    at = buffer_.find('\n') + 1;
  PresumedLoc start = sm_.getPresumedLoc(sm_.getLocForStartOfFile(ctx_.getSourceManager().getMainFileID()));
  std::string mainName = start.isValid() ? start.getFilename() : base_.tu;
  rw_.InsertTextBefore(sm_.getComposedLoc(map_.file, at),
                       prelude() + fmt::format("# 1 \"{}\" 2\n", mainName));
  if (!tail_.empty()) {
    std::string text = tail_;
    if (!buffer_.empty() && buffer_.back() != '\n')
      text = "\n" + text;
    rw_.InsertTextAfter(sm_.getComposedLoc(map_.file, buffer_.size()), text);
  }
  const auto *rb = rw_.getRewriteBufferFor(map_.file);
  out.text = rb ? std::string(rb->begin(), rb->end()) : buffer_.str();
  out.refs = refs_;
  out.deletedUses = deletedUses_;
  out.errors = errors_;
  out.warnings = warnings_;
  return out;
}

RewrittenUnit rewritePatchUnit(ASTContext &ctx, const TokenMap &map, const BaseUnit &base,
                               const UnitPlan &plan, const PatchRewriteOptions &opts) {
  PatchRewriter r(ctx, map, base, plan, opts);
  return r.run();
}

} // namespace dsu
