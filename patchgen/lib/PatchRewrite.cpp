// The patch rewrite: a changed unit's new version edited into its patch code.
#include "PatchRewriter.h"

#include "AbiHeader.h"
#include "CLiterals.h"
#include "RewriteRecords.h"
#include "StaticRegistry.h"
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

std::string PatchRewriter::prelude() const {
  return fmt::format("# 1 \"<dsu-abi>\" 1\n{}\nstatic const char __dsu_tu_name[] "
                     "__attribute__((__unused__)) = \"{}\";\nvoid *__dsu_refs_{}[{}];\n",
                     abiHeaderText(), escapeCString(base_.tu), plan_.index,
                     refs_.empty() ? 1 : refs_.size());
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

// An alias the unit defines (the kernel's SYSCALL_DEFINE0: __x64_sys_X is
// an alias of __do_sys_X) is the running program's symbol: the patch does
// not define it again, and the target's body may not be in the patch at
// all ("alias must point to a defined variable or function"). What is left
// declares it; the patch code reaches it like any other symbol.
void PatchRewriter::dropAlias(Decl *d) {
  for (const auto *a : d->specific_attrs<AliasAttr>()) {
    SourceLocation b = edit(a->getRange().getBegin()), e = edit(a->getRange().getEnd());
    if (b.isInvalid() || e.isInvalid() || offset(e) < offset(b)) {
      errors_.push_back(fmt::format("{}: error: cannot remove the alias attribute of {}",
                                    where(d->getLocation()),
                                    cast<NamedDecl>(d)->getName().str()));
      continue;
    }
    blankOut(b, e);
  }
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
    blankOut(equal, end);
  }
}

void PatchRewriter::blankOut(SourceLocation begin, SourceLocation last) {
  unsigned endTok = offset(last) + Lexer::MeasureTokenLength(last, sm_, lo_);
  std::string keep;
  for (char ch : buffer_.slice(offset(begin), endTok))
    if (ch == '\n')
      keep += '\n';
  rw_.ReplaceText(begin, endTok - offset(begin), keep);
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
    if (d->hasAttr<AliasAttr>() && !fromTransformerFile(d)) {
      dropAlias(d);
      continue;
    }
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
      if (b.isValid() && e.isValid())
        blankOut(b, e);
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
        // The unit's own functions and variables: as from the unit's code
        // (the patch drops unchanged bodies: in6_ifa_put() of
        // include/net/addrconf.h calls inet6_ifa_finish_destroy() of
        // net/ipv6/addrconf.c, which the kernel does not export).
        const FunctionDecl *fdef = f ? f->getDefinition() : nullptr;
        const VarDecl *vdef = v ? (v->getDefinition() ? v->getDefinition()
                                                      : v->getActingDefinition())
                                : nullptr;
        if ((fdef && inSource(fdef)) || (vdef && vdef->hasGlobalStorage() && inSource(vdef))) {
          handleRef(r, nullptr, false);
          continue;
        }
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
