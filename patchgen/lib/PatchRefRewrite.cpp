// The patch rewrite of references: each use, in the patch code, of a
// function or variable of the running program stays direct, goes through a
// slot the runtime fills (DSU_REF_*), or is refused naming why.
#include "PatchRewriter.h"

#include "RewriteRecords.h"
#include "StaticRegistry.h"

#include <clang/AST/Attr.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/Stmt.h>

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
    // The kernel: a static dsu-cc did not register (a per-CPU variable, or
    // one whose initializer refers to what the unit only declares) is
    // still a symbol of vmlinux; reached by name when that is unique, as
    // livepatch's relocations reach it (data that is freed or discarded
    // after boot is not reached at all).
    if (it != base_.unregisteredVars.end() && uniqueKernelStatic(name, it->second)) {
      unexportedRef(r, "'" + name + "'", inInitializer);
      return;
    }
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

bool PatchRewriter::uniqueKernelStatic(const std::string &name, const std::string &why) const {
  if (!opts_.kernel || !opts_.vmlinuxSymbols || !opts_.repeatedSymbols ||
      !opts_.vmlinuxSymbols->count(name) || opts_.repeatedSymbols->count(name))
    return false;
  for (const char *gone : {"init", "exit", "discard", "thread-local", "variably modified"})
    if (why.find(gone) != std::string::npos)
      return false;
  return true;
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

} // namespace dsu
