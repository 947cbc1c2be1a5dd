// AST helpers the unit's snapshot and its patch rewrite share.
#include "UnitAST.h"

#include "TypeWrapping.h"

using namespace clang;

namespace dsu {

std::vector<std::pair<Expr *, const RecordDecl *>> freedRecords(CallExpr *ce) {
  std::vector<std::pair<Expr *, const RecordDecl *>> out;
  const FunctionDecl *callee = ce->getDirectCallee();
  if (!callee || !callee->getIdentifier() || !isFreeFunction(callee->getName()))
    return out;
  for (Expr *arg : ce->arguments()) {
    QualType t = arg->IgnoreParenImpCasts()->getType();
    if (t->isPointerType())
      if (const auto *rt = t->getPointeeType()->getAs<RecordType>())
        if (const RecordDecl *rd = rt->getDecl()->getDefinition(); rd && rd->getIdentifier())
          out.push_back({arg, rd});
  }
  return out;
}

} // namespace dsu
