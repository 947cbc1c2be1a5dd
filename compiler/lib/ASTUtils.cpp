#include "ASTUtils.h"

#include <clang/AST/Expr.h>

using namespace clang;

namespace dsu {

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

void forEachMemberOnPath(const Expr *e, const std::function<void(const MemberExpr *)> &fn) {
  e = e->IgnoreParens();
  for (;;) {
    if (const auto *as = dyn_cast<ArraySubscriptExpr>(e)) {
      const auto *ic = dyn_cast<ImplicitCastExpr>(as->getBase()->IgnoreParens());
      if (!ic || ic->getCastKind() != CK_ArrayToPointerDecay)
        return;
      e = ic->getSubExpr()->IgnoreParens();
    } else if (const auto *me = dyn_cast<MemberExpr>(e)) {
      fn(me);
      if (me->isArrow())
        return;
      e = me->getBase()->IgnoreParens();
    } else {
      return;
    }
  }
}

bool isFreeFunction(llvm::StringRef name) {
  return name == "free" || name == "kfree" || name == "kvfree" || name == "vfree" ||
         name == "kfree_sensitive" || name == "kmem_cache_free";
}

} // namespace dsu
