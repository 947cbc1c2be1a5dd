#include "FunctionUses.h"

#include <clang/AST/RecursiveASTVisitor.h>

#include <set>

using namespace clang;

namespace dsu {
namespace {

class UseCounter : public RecursiveASTVisitor<UseCounter> {
public:
  std::map<const FunctionDecl *, FunctionUse> uses;

  bool VisitCallExpr(CallExpr *ce) {
    if (const auto *ref = dyn_cast<DeclRefExpr>(ce->getCallee()->IgnoreParenCasts()))
      callees_.insert(ref);
    return true;
  }
  // A call is visited before its callee.
  bool VisitDeclRefExpr(DeclRefExpr *ref) {
    if (const auto *fd = dyn_cast<FunctionDecl>(ref->getDecl())) {
      FunctionUse &u = uses[fd->getCanonicalDecl()];
      (callees_.count(ref) ? u.calls : u.escapes)++;
    }
    return true;
  }
  bool TraverseUnaryExprOrTypeTraitExpr(UnaryExprOrTypeTraitExpr *) { return true; }
  bool TraverseTypeOfExprTypeLoc(TypeOfExprTypeLoc) { return true; }
  bool TraverseTypeOfExprType(TypeOfExprType *) { return true; }

private:
  std::set<const DeclRefExpr *> callees_;
};

} // namespace

std::map<const FunctionDecl *, FunctionUse> functionUses(ASTContext &ctx) {
  UseCounter counter;
  counter.TraverseDecl(ctx.getTranslationUnitDecl());
  return std::move(counter.uses);
}

} // namespace dsu
