#include "Eligibility.h"

#include "NeedsInlining.h"
#include "Policy.h"
#include "RewriteRecords.h"
#include "SourceUtils.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>

using namespace clang;

namespace dsu {

namespace {

// The references between functions, for emittedFunctions. clang's isUsed() is no help here: a use inside
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

} // namespace

FunctionEligibility::FunctionEligibility(ASTContext &ctx, const RewriteOptions &opts,
                                         const EditText &text)
    : ctx_(ctx), opts_(opts), text_(text) {
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls())
    if (auto *a = d->getAttr<AliasAttr>())
      aliasTargets_.insert(a->getAliasee().str());
  uses_ = functionUses(ctx_);
  needsInlining_ = functionsNeedingInlining(ctx_, opts_, uses_);
}

unsigned FunctionEligibility::offset(SourceLocation astLoc) const {
  return ctx_.getSourceManager().getFileOffset(text_.edit(astLoc));
}

Reason FunctionEligibility::classify(const FunctionDecl *fd, std::string &detail) const {
  if (!inCSourceFile(ctx_.getSourceManager(), fd->getLocation())) {
    detail = fd->isInlined() ? "inline" : "";
    return Reason::HeaderFunction;
  }
  if (opts_.fileExcluded) {
    detail = opts_.fileDetail;
    return opts_.fileReason;
  }
  if (opts_.notEmittedFunctions.count(fd->getName().str()))
    return Reason::NotEmitted;
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
  // Only the unit's own direct calls can fold a constant body; a stub only
  // ever reached through its address (an irq_work's callback) or from other
  // units is a call in the plain build too.
  if (hasConstantBody(fd))
    if (auto it = uses_.find(fd->getCanonicalDecl()); it != uses_.end() && it->second.calls)
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
  const auto *cs = dyn_cast_or_null<CompoundStmt>(body);
  if (!cs || !editable(fd->getLocation()) || !editable(fd->getBeginLoc()) ||
      !editable(cs->getLBracLoc()) || !editable(cs->getRBracLoc())) {
    detail = "definition or its name comes from a macro";
    return Reason::Uneditable;
  }
  // The stub repeats the head on one line; a directive inside it (a line
  // marker of a long blank stretch) cannot be folded onto one line.
  llvm::StringRef head = text_.buffer.slice(offset(fd->getBeginLoc()), offset(cs->getLBracLoc()));
  if (head.contains("\n#")) {
    detail = "preprocessor directive inside the function head";
    return Reason::Uneditable;
  }
  return Reason::None;
}

std::set<const FunctionDecl *> emittedFunctions(ASTContext &ctx,
                                                const std::vector<const FunctionDecl *> &roots) {
  ReferenceGraph graph;
  graph.TraverseDecl(ctx.getTranslationUnitDecl());
  return graph.reachable(roots);
}

} // namespace dsu
