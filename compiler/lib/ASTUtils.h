// Small questions about the AST that several passes of the rewrite (and
// dsu-patchgen) ask the same way.
#pragma once

#include <llvm/ADT/StringRef.h>

#include <functional>

namespace clang {
class CallExpr;
class DeclRefExpr;
class Expr;
class FunctionDecl;
class MemberExpr;
} // namespace clang

namespace dsu {

// The function a call names directly (through parentheses and implicit
// casts), with the reference that names it in `*refOut` when given; null for
// calls through pointers.
const clang::FunctionDecl *directCallee(const clang::CallExpr *ce,
                                        const clang::DeclRefExpr **refOut = nullptr);

// The member accesses an lvalue reaches its storage through, outermost
// first: `p->a.b[i]` gives b, then a; it stops after an arrow (a pointer is
// loaded there) and at a subscript of a pointer. Used for writes (which
// accessor) and for taken addresses (which fields may not move).
void forEachMemberOnPath(const clang::Expr *lvalue,
                         const std::function<void(const clang::MemberExpr *)> &fn);

// The free family: calls that release the object their argument points to
// (free, kfree, kvfree, vfree, kfree_sensitive, kmem_cache_free).
bool isFreeFunction(llvm::StringRef name);

} // namespace dsu
