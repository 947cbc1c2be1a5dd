// AST helpers the unit's snapshot and its patch rewrite share: the
// references and frees in a piece of code (locations: SourceUtils.h).
#pragma once

#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>

#include "SourceUtils.h"

#include <string>
#include <utility>
#include <vector>

namespace dsu {

class RefCollector : public clang::RecursiveASTVisitor<RefCollector> {
public:
  std::vector<clang::DeclRefExpr *> refs;
  std::vector<clang::PredefinedExpr *> predefined;
  // The static local whose initializer each reference is in (null if none).
  std::vector<const clang::VarDecl *> inStaticInit;
  bool VisitDeclRefExpr(clang::DeclRefExpr *r) {
    refs.push_back(r);
    inStaticInit.push_back(staticInit_);
    return true;
  }
  bool TraverseVarDecl(clang::VarDecl *vd) {
    const clang::VarDecl *saved = staticInit_;
    if (vd->isStaticLocal())
      staticInit_ = vd;
    bool ok = RecursiveASTVisitor::TraverseVarDecl(vd);
    staticInit_ = saved;
    return ok;
  }
  bool VisitPredefinedExpr(clang::PredefinedExpr *p) {
    predefined.push_back(p);
    return true;
  }

private:
  const clang::VarDecl *staticInit_ = nullptr;
};

// The struct objects a call of the free family releases: (argument, record).
std::vector<std::pair<clang::Expr *, const clang::RecordDecl *>> freedRecords(clang::CallExpr *ce);

} // namespace dsu
