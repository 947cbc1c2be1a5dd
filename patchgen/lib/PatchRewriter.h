// The patch rewriter: the state of one unit's rewrite into patch code.
// Private to the rewrite: PatchRewrite.cpp (definitions kept, dropped,
// renamed, added), PatchRefRewrite.cpp (references), PatchTypeRewrite.cpp
// (wrapped types) and PatchShadowRewrite.cpp (shadow fields).
#pragma once

#include "RewriteRecords.h"
#include "StaticRegistry.h"
#include "PatchRewrite.h"
#include "UnitAST.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace dsu {

class PatchRewriter {
public:
  PatchRewriter(clang::ASTContext &ctx, const TokenMap &map, const BaseUnit &base, const UnitPlan &plan,
                const PatchRewriteOptions &opts)
      : ctx_(ctx), sm_(ctx.getSourceManager()), lo_(ctx.getLangOpts()), map_(map), base_(base),
        plan_(plan), opts_(opts) {
    rw_.setSourceMgr(sm_, lo_);
    buffer_ = sm_.getBufferData(map_.file);
  }

  RewrittenUnit run();

private:
  clang::SourceLocation edit(clang::SourceLocation loc) const {
    return loc.isValid() ? map_.lookup(sm_, loc) : clang::SourceLocation();
  }
  unsigned offset(clang::SourceLocation editLoc) const { return sm_.getFileOffset(editLoc); }
  // Replaces the edit text from `begin` to the end of the token at `last`
  // by its newlines only (the lines after it keep their numbers).
  void blankOut(clang::SourceLocation begin, clang::SourceLocation last);
  std::string where(clang::SourceLocation loc) const {
    clang::PresumedLoc p = presumedLoc(sm_, loc);
    return p.isValid() ? fmt::format("{}:{}:{}", p.getFilename(), p.getLine(), p.getColumn())
                       : "<unknown>";
  }
  bool inSource(const clang::Decl *d) const {
    std::string f = presumedFile(sm_, d->getLocation());
    return isCSourceFile(f) || (!opts_.transformerFile.empty() && f == opts_.transformerFile);
  }

  std::string baseReason(const std::string &name) const {
    auto it = base_.functions.find(name);
    return it == base_.functions.end() ? "<none>" : it->second;
  }
  bool baseUpdateable(const std::string &name) const {
    auto it = base_.functions.find(name);
    return it != base_.functions.end() && it->second.empty();
  }
  unsigned slot(unsigned kind, const std::string &tu, const std::string &name) {
    for (unsigned i = 0; i < refs_.size(); ++i)
      if (refs_[i].kind == kind && refs_[i].tu == tu && refs_[i].name == name)
        return i;
    refs_.push_back({kind, tu, name});
    return refs_.size() - 1;
  }
  void replaceRef(clang::DeclRefExpr *r, unsigned index) {
    clang::SourceLocation at = edit(r->getLocation());
    if (at.isInvalid()) {
      errors_.push_back(fmt::format("{}: error: cannot edit the reference to '{}' here",
                                    where(r->getLocation()), r->getDecl()->getName().str()));
      return;
    }
    if (!edited_.insert(offset(at)).second)
      return;
    rw_.ReplaceText(at, r->getDecl()->getName().size(),
                    fmt::format("(*(__typeof__({}) *)__dsu_refs_{}[{}])",
                                r->getDecl()->getName().str(), plan_.index, index));
  }
  bool needsSymbolRef(const std::string &name) const {
    return opts_.kernel && (!opts_.exported || !opts_.exported->count(name)) &&
           (!opts_.vmlinuxSymbols || opts_.vmlinuxSymbols->count(name));
  }
  void handleRef(clang::DeclRefExpr *r, const clang::FunctionDecl *in, bool inInitializer);
  void unexportedRef(clang::DeclRefExpr *r, const std::string &shown, bool inInitializer);
  // Whether a static the running kernel did not register (`why`) can be
  // reached by its name in vmlinux: it is there once and not gone after boot.
  bool uniqueKernelStatic(const std::string &name, const std::string &why) const;
  // Static locals of a replaced function that the patch code has its own
  // copy of: constant data is no state (the new version's own copy, so a
  // changed table takes effect), and neither is a table of label addresses
  // that nothing writes (computed goto: the running table's entries point
  // into the old function's code; labelTables()), nor an entry of a linker
  // table (pr_debug's __dyndbg descriptor: the module loader registers the
  // patch module's own; inLinkerTable()).
  bool ownStaticLocal(const clang::VarDecl *vd) const {
    return vd->getType().isConstant(ctx_) || labelTables_.count(vd) || inLinkerTable(vd);
  }
  // A static local of a replaced function the running program registered
  // is the running instance in the patch code, unless it is the patch's own.
  bool runningStaticLocal(const clang::FunctionDecl *owner, const clang::VarDecl *vd) const {
    return plan_.replaced.count(owner->getName().str()) && !ownStaticLocal(vd) &&
           base_.registeredVars.count(staticLocalName(owner, vd));
  }
  void labelTables(clang::FunctionDecl *fd);
  void deletedCallers();
  // Whether a reference to a function is the callee of a call.
  bool isCallee(const clang::DeclRefExpr *r) const {
    const clang::Expr *cur = r;
    while (true) {
      auto parents = ctx_.getParents(*cur);
      const clang::Expr *p = parents.size() == 1 ? parents[0].get<clang::Expr>() : nullptr;
      if (p && (llvm::isa<clang::ParenExpr>(p) || llvm::isa<clang::ImplicitCastExpr>(p))) {
        cur = p;
        continue;
      }
      const auto *ce = llvm::dyn_cast_or_null<clang::CallExpr>(p);
      return ce && ce->getCallee() == cur;
    }
  }
  void keepFunction(clang::FunctionDecl *fd);
  void dropBody(clang::FunctionDecl *fd);
  void dropAlias(clang::Decl *d);
  void renameReplaced(clang::FunctionDecl *fd);
  void addedFunction(clang::FunctionDecl *fd);
  void externalizeVar(clang::VarDecl *vd);
  void wrapPatchTypes(RewrittenUnit &out);
  void shadowFields();
  bool fromTransformerFile(const clang::Decl *d) const {
    return !opts_.transformerFile.empty() &&
           presumedFile(sm_, d->getLocation()) == opts_.transformerFile;
  }
  std::string prelude() const;

  clang::ASTContext &ctx_;
  clang::SourceManager &sm_;
  const clang::LangOptions &lo_;
  const TokenMap &map_;
  const BaseUnit &base_;
  const UnitPlan &plan_;
  const PatchRewriteOptions &opts_;
  clang::Rewriter rw_;
  llvm::StringRef buffer_;
  std::vector<PatchRef> refs_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::set<unsigned> edited_;
  std::set<unsigned> externed_;
  std::map<const clang::FunctionDecl *, unsigned> addedPointerAt_; // offset after which calls use the pointer
  std::set<const clang::Decl *> dropped_; // bodies and initializers the patch code leaves out
  std::set<const clang::VarDecl *> labelTables_; // static locals holding label addresses
  std::vector<DeletedUse> deletedUses_;
  const clang::VarDecl *initializing_ = nullptr; // the added variable whose initializer is handled
  std::string tail_;
};

} // namespace dsu
