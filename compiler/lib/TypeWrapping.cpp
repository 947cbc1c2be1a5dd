#include "TypeWrapping.h"

#include "Policy.h"
#include "SourceUtils.h"
#include "WrapperText.h"

#include "dsu/abi.h"


#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/Stmt.h>
#include <clang/AST/TypeLoc.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

using namespace clang;

namespace dsu {

namespace {

// Whether the struct's objects extend past its end: its last member is a
// zero-length array, or (an array of) a struct that ends in a flexible or
// zero-length array (net/ipv4/fib_trie.c's tnode ends in `struct key_vector
// kv[1]`, whose `tnode[]` is allocated with TNODE_SIZE(n) = offsetof(struct
// tnode, kv[0].tnode[n])). Clang's hasFlexibleArrayMember() sees only a
// struct member that is no array.
bool endsInVariableArray(const RecordDecl *rd) {
  const FieldDecl *last = nullptr;
  for (const FieldDecl *f : rd->fields())
    last = f;
  if (!last)
    return false;
  QualType t = last->getType();
  if (const auto *ca = dyn_cast<ConstantArrayType>(t.getCanonicalType()); ca && ca->getSize() == 0)
    return true;
  while (const ArrayType *at = t->getAsArrayTypeUnsafe())
    t = at->getElementType();
  if (const auto *rt = t->getAs<RecordType>())
    if (const RecordDecl *inner = rt->getDecl()->getDefinition(); inner && inner != rd)
      return inner->hasFlexibleArrayMember() || endsInVariableArray(inner);
  return false;
}

// How the type with tag `tag` is pinned; null when nothing is pinned or it
// is not.
const PinnedWrap *pinnedWrap(const TypeWrapInput &in, llvm::StringRef tag) {
  if (!in.pinned)
    return nullptr;
  auto it = in.pinned->find(tag.str());
  return it == in.pinned->end() ? nullptr : &it->second;
}

struct Candidate {
  RecordDecl *def = nullptr;
  TypeRecord record;
  std::vector<const MemberExpr *> members;
  std::vector<const InitListExpr *> inits;
  std::vector<std::pair<const OffsetOfExpr *, unsigned>> offsets; // expr, component index
};

// The record a use of `t` reaches, if it is one of the candidates.
const RecordDecl *recordOf(QualType t) {
  if (const auto *rt = t->getAs<RecordType>())
    return rt->getDecl()->getDefinition();
  return nullptr;
}

// An initializer list written with its own braces (an elided one has its
// "brace" locations on its first and last elements).
bool hasBraces(const InitListExpr *ile, const SourceManager &sm) {
  SourceLocation l = ile->getLBraceLoc(), r = ile->getRBraceLoc();
  if (l.isInvalid() || r.isInvalid())
    return false;
  bool bad = false;
  const char *lc = sm.getCharacterData(sm.getSpellingLoc(l), &bad);
  if (bad || *lc != '{')
    return false;
  const char *rc = sm.getCharacterData(sm.getSpellingLoc(r), &bad);
  return !bad && *rc == '}';
}

// Finds every concrete use of the candidate types, post-order (inner member
// accesses before the ones built on them).
class UseScanner : public RecursiveASTVisitor<UseScanner> {
public:
  UseScanner(std::map<const RecordDecl *, Candidate *> &byDecl, const SourceManager &sm,
             const LangOptions &lo, std::function<bool(const Decl *)> skip,
             const std::vector<RewriteOptions::AddressSpaceMark> *marks)
      : byDecl_(byDecl), sm_(sm), lo_(lo), skip_(std::move(skip)), marks_(marks) {}

  // `struct T *` converted to `void *` or another pointer type: if T's first
  // member is a struct, code elsewhere may take the object for that member
  // (the kernel's drvdata idiom: atkbd passes itself, libps2 reads a
  // ps2dev), and wrapping moves it. Decided after the traversal, when the
  // conversions that only hand memory to free/mem*/IS_ERR are known.
  bool VisitCastExpr(CastExpr *ce) {
    if (ce->getCastKind() != CK_BitCast)
      return true;
    QualType from = ce->getSubExpr()->getType();
    if (!from->isPointerType())
      return true;
    Candidate *c = find(from->getPointeeType());
    if (!c || c->record.reason != Reason::None || c->def->field_empty())
      return true;
    QualType first = (*c->def->field_begin())->getType();
    while (const ArrayType *at = first->getAsArrayTypeUnsafe())
      first = at->getElementType();
    if (first->isRecordType())
      escapes.push_back({ce, c});
    return true;
  }
  bool VisitCallExpr(CallExpr *call) {
    const FunctionDecl *callee = call->getDirectCallee();
    if (!callee || !callee->getIdentifier())
      return true;
    llvm::StringRef n = callee->getName();
    static const char *const benign[] = {
        "memset",         "memcpy",  "memmove",  "memcmp",          "memzero_explicit", "IS_ERR",
        "IS_ERR_OR_NULL", "PTR_ERR", "ERR_CAST", "PTR_ERR_OR_ZERO", "kmemleak_not_leak",
        "kfree_rcu"};
    bool isBenign = n.starts_with("__builtin_mem") || isFreeFunction(n);
    for (const char *b : benign)
      isBenign = isBenign || n == b;
    if (isBenign)
      for (Expr *arg : call->arguments())
        handedToMemory.insert(arg->IgnoreParens());
    // Bytes of an instance copied to or from user space: its layout is
    // what user space sees (sizeof would include the version and slop).
    if (n.contains("copy_to_user") || n.contains("copy_from_user") ||
        n.contains("copy_to_iter") || n.contains("copy_from_iter") ||
        n == "copy_struct_from_user" || n == "simple_read_from_buffer" ||
        n == "simple_write_to_buffer")
      for (Expr *arg : call->arguments())
        if (const auto *ce = dyn_cast<CastExpr>(arg->IgnoreParens());
            ce && ce->getSubExpr()->getType()->isPointerType())
          if (Candidate *c = find(ce->getSubExpr()->getType()->getPointeeType());
              c && c->record.reason == Reason::None) {
            c->record.reason = Reason::TypeUserVisible;
            std::string at = presumedFileLine(sm_, call->getBeginLoc());
            c->record.detail = at.empty() ? "" : fmt::format("copied by {}() at {}", n.str(), at);
          }
    return true;
  }
  std::vector<std::pair<const CastExpr *, Candidate *>> escapes;
  std::set<const Expr *> handedToMemory;

  // `(struct T *)bytes`: a layout laid over raw memory (a firmware blob, a
  // hardware record, a buffer), which has no version field. container_of
  // and the list_entry family cast from void * too, but to an object.
  bool VisitCStyleCastExpr(CStyleCastExpr *ce) {
    QualType to = ce->getType();
    if (!to->isPointerType())
      return true;
    Candidate *c = find(to->getPointeeType());
    if (!c || c->record.reason != Reason::None)
      return true;
    QualType from = ce->getSubExpr()->IgnoreParens()->getType();
    bool raw = from->isIntegerType();
    if (from->isPointerType()) {
      QualType p = from->getPointeeType();
      raw = p->isVoidType() || p->isCharType() || p->isIntegerType();
    }
    if (!raw)
      return true;
    for (SourceLocation loc = ce->getBeginLoc(); loc.isMacroID();
         loc = sm_.getImmediateMacroCallerLoc(loc)) {
      llvm::StringRef macro = Lexer::getImmediateMacroName(loc, sm_, lo_);
      if (macro.contains("container_of") || macro.ends_with("_entry") ||
          macro.ends_with("_entry_rcu") || macro.contains("_entry_safe"))
        return true;
    }
    c->record.reason = Reason::TypeOverlay;
    c->record.detail = presumedFileLine(sm_, ce->getBeginLoc());
    return true;
  }

  // `struct T __user *` / `struct T __iomem *`: the marker expands between
  // the type's first token and the star.
  bool VisitPointerTypeLoc(PointerTypeLoc tl) {
    if (!marks_ || marks_->empty())
      return true;
    Candidate *c = find(tl.getPointeeLoc().getType());
    if (!c || c->record.reason != Reason::None)
      return true;
    SourceLocation b = sm_.getExpansionLoc(tl.getBeginLoc()), e = sm_.getExpansionLoc(tl.getStarLoc());
    if (b.isInvalid() || e.isInvalid() || sm_.getFileID(b) != sm_.getFileID(e))
      return true;
    for (const RewriteOptions::AddressSpaceMark &mark : *marks_) {
      SourceLocation m = mark.loc;
      if (sm_.getFileID(m) != sm_.getFileID(b))
        continue;
      unsigned o = sm_.getFileOffset(m);
      if (o > sm_.getFileOffset(b) && o < sm_.getFileOffset(e)) {
        c->record.reason = mark.io ? Reason::TypeHardwareLayout : Reason::TypeUserVisible;
        PresumedLoc p = sm_.getPresumedLoc(m);
        c->record.detail = p.isValid() ? fmt::format("{}:{}", p.getFilename(), p.getLine()) : "";
        break;
      }
    }
    return true;
  }
  bool shouldTraversePostOrder() const { return true; }

  // In a constant initializer (`&g.f` of a static) or an unevaluated
  // operand (sizeof, typeof) a member is reached directly: no call is
  // allowed there, and none is needed.
  bool TraverseVarDecl(VarDecl *vd) {
    if (skip_ && skip_(vd))
      return true;
    bool saved = direct_;
    direct_ = direct_ || vd->hasGlobalStorage();
    bool ok = RecursiveASTVisitor::TraverseVarDecl(vd);
    direct_ = saved;
    return ok;
  }
  bool TraverseUnaryExprOrTypeTraitExpr(UnaryExprOrTypeTraitExpr *e) {
    bool saved = direct_;
    direct_ = true;
    bool ok = RecursiveASTVisitor::TraverseUnaryExprOrTypeTraitExpr(e);
    direct_ = saved;
    return ok;
  }
  bool TraverseTypeOfExprTypeLoc(TypeOfExprTypeLoc tl) {
    bool saved = direct_;
    direct_ = true;
    bool ok = RecursiveASTVisitor::TraverseTypeOfExprTypeLoc(tl);
    direct_ = saved;
    return ok;
  }

  bool TraverseFunctionDecl(FunctionDecl *fd) {
    if (skip_ && skip_(fd))
      return true;
    const FunctionDecl *saved = fn_;
    fn_ = fd;
    bool ok = RecursiveASTVisitor::TraverseFunctionDecl(fd);
    fn_ = saved;
    return ok;
  }
  // Writes (`p->f = v`, `p->f += v`, `p->f++`, `p->a[i].g = v` ...) use the
  // accessor that marks fresh memory as the current version. Reads and
  // address computations use the one that leaves memory without the magic
  // alone: the kernel reads through containers that do not exist
  // (list_for_each_entry forms `&pos->member` from the list head, and the
  // _safe variant reads `n->member.next` of it), and marking would corrupt
  // whatever lies there. An instance is marked by its first direct write.
  void noteWrite(const Expr *e) {
    forEachMemberOnPath(e, [this](const MemberExpr *me) { writes.insert(me); });
  }
  bool VisitBinaryOperator(BinaryOperator *bo) {
    if (bo->isAssignmentOp())
      noteWrite(bo->getLHS());
    return true;
  }
  bool VisitUnaryOperator(UnaryOperator *uo) {
    if (uo->isIncrementDecrementOp())
      noteWrite(uo->getSubExpr());
    return true;
  }
  std::set<const MemberExpr *> writes;

  bool VisitMemberExpr(MemberExpr *me) {
    QualType base = me->getBase()->getType();
    if (me->isArrow())
      base = base->getPointeeType();
    if (Candidate *c = find(base)) {
      noteFunction(c);
      if (!me->isArrow() && !me->getBase()->isLValue() && !direct_) {
        c->record.reason = Reason::TypeUneditable;
        c->record.detail = "a member of a value that is not an lvalue (a function's result)";
      }
      c->members.push_back(me);
      ordered.push_back({c, me, direct_});
    }
    return true;
  }
  // Every member access of every candidate, inner before outer: edits at the
  // same place nest correctly only in this order.
  struct Access {
    Candidate *type;
    const MemberExpr *member;
    bool direct; // constant or unevaluated context: no accessor call
  };
  std::vector<Access> ordered;
  bool VisitInitListExpr(InitListExpr *ile) {
    // Brace elision shows in the semantic form: a list of type T that has
    // no braces of its own.
    const InitListExpr *sem = ile->isSemanticForm() ? ile : ile->getSemanticForm();
    if (sem)
      checkElision(sem);
    const InitListExpr *syn = ile->isSemanticForm() && ile->getSyntacticForm() ? ile->getSyntacticForm() : ile;
    if (Candidate *c = find(syn->getType()); c && seenInits_.insert(syn).second) {
      noteFunction(c);
      if (hasBraces(syn, sm_))
        c->inits.push_back(syn);
    }
    // Designators reaching through a member of type T into its fields.
    if (ile->isSyntacticForm() || !ile->getSyntacticForm())
      for (const Expr *e : syn->inits())
        if (const auto *die = dyn_cast_or_null<DesignatedInitExpr>(e))
          for (unsigned i = 0; i + 1 < die->size(); ++i)
            if (const auto *d = die->getDesignator(i); d && d->isFieldDesignator())
              if (const FieldDecl *f = d->getFieldDecl())
                if (Candidate *c = find(f->getType())) {
                  c->record.reason = Reason::TypeBraceElision;
                  c->record.detail = "a designated initializer reaches into its fields";
                }
    return true;
  }
  // Local instances declared without an initializer: the rewriter marks
  // them as the current version at the declaration. Their stack bytes are
  // whatever was there, so otherwise the first write (and every read
  // before it) goes through the runtime's slow path.
  bool VisitDeclStmt(DeclStmt *ds) {
    for (Decl *d : ds->decls())
      if (auto *vd = dyn_cast<VarDecl>(d);
          vd && vd->hasLocalStorage() && !vd->hasInit() && vd->getIdentifier() &&
          vd->getStorageClass() != SC_Register && !vd->getType().isConstQualified() &&
          !vd->getType().isVolatileQualified())
        if (Candidate *c = find(vd->getType()))
          locals.push_back({ds, vd, c});
    return true;
  }
  // `for (struct T x; ...)`: no declaration can follow it there.
  bool VisitForStmt(ForStmt *fs) {
    if (fs->getInit())
      forInits.insert(fs->getInit());
    return true;
  }
  struct Local {
    const DeclStmt *stmt;
    const VarDecl *var;
    Candidate *type;
  };
  std::vector<Local> locals;
  std::set<const Stmt *> forInits;
  bool VisitOffsetOfExpr(OffsetOfExpr *oe) {
    for (unsigned i = 0; i < oe->getNumComponents(); ++i) {
      const OffsetOfNode &n = oe->getComponent(i);
      if (n.getKind() != OffsetOfNode::Field)
        continue;
      if (Candidate *c = findDecl(n.getField()->getParent())) {
        noteFunction(c);
        c->offsets.push_back({oe, i});
      }
    }
    return true;
  }
  bool VisitVarDecl(VarDecl *vd) {
    QualType t = vd->getType();
    while (const ArrayType *at = t->getAsArrayTypeUnsafe())
      t = at->getElementType();
    if (Candidate *c = find(t); c && t.isConstQualified() && vd->hasGlobalStorage()) {
      c->record.reason = Reason::TypeConstInstance;
      c->record.detail = vd->getName().str();
    }
    if (Candidate *c = find(t); c && vd->hasGlobalStorage())
      if (const auto *sa = vd->getAttr<SectionAttr>()) {
        llvm::StringRef sec = sa->getName();
        if (sec.contains("percpu")) {
          c->record.reason = Reason::TypePercpuInstance;
          c->record.detail = vd->getName().str();
        } else if (!sec.starts_with(".data") && !sec.starts_with(".bss") &&
                   !sec.starts_with(".rodata") && !sec.starts_with(".init.data") &&
                   !sec.starts_with(".init.rodata")) {
          // A linker table (__param, __ex_table, tracing, setup ...): what
          // walks the section reads the plain layout.
          c->record.reason = Reason::TypeSectionInstance;
          c->record.detail = fmt::format("{} in {}", vd->getName().str(), sec.str());
        }
      }
    return true;
  }

private:
  Candidate *find(QualType t) { return t.isNull() ? nullptr : findDecl(recordOf(t)); }
  Candidate *findDecl(const RecordDecl *rd) {
    if (!rd)
      return nullptr;
    auto it = byDecl_.find(rd->getDefinition() ? rd->getDefinition() : rd);
    return it == byDecl_.end() ? nullptr : it->second;
  }
  void noteFunction(Candidate *c) {
    // Code that must not call out to the runtime's slow path.
    if (fn_ && (fn_->hasAttr<NakedAttr>() ||
                (fn_->hasAttr<SectionAttr>() &&
                 fn_->getAttr<SectionAttr>()->getName() == ".noinstr.text"))) {
      c->record.reason = Reason::TypeUninstrumentableUse;
      c->record.detail = fn_->getName().str();
    }
  }
  void checkElision(const InitListExpr *sem) {
    for (const Expr *e : sem->inits()) {
      const auto *sub = dyn_cast_or_null<InitListExpr>(e);
      if (!sub)
        continue;
      if (Candidate *c = find(sub->getType()); c && !hasBraces(sub, sm_)) {
        c->record.reason = Reason::TypeBraceElision;
        c->record.detail = "an initializer leaves out its braces";
      }
      checkElision(sub);
    }
  }
  std::map<const RecordDecl *, Candidate *> &byDecl_;
  const SourceManager &sm_;
  const LangOptions &lo_;
  std::function<bool(const Decl *)> skip_;
  const std::vector<RewriteOptions::AddressSpaceMark> *marks_;
  const FunctionDecl *fn_ = nullptr;
  bool direct_ = false;
  std::set<const InitListExpr *> seenInits_;
};

} // namespace

std::string wrapTypes(TypeWrapInput in, std::vector<TypeRecord> &types, bool &wrappedAny) {
  ASTContext &ctx = in.ctx;
  SourceManager &sm = ctx.getSourceManager();
  const LangOptions &lo = ctx.getLangOpts();
  const RewriteOptions &opts = in.opts;
  wrappedAny = false;

  std::vector<Candidate> cands;
  for (Decl *d : ctx.getTranslationUnitDecl()->decls()) {
    auto *rd = dyn_cast<RecordDecl>(d);
    if (!rd || !rd->isThisDeclarationADefinition())
      continue;
    PresumedLoc p = presumedLoc(sm, rd->getLocation());
    if (!p.isValid() || !isCSourceFile(p.getFilename()))
      continue;
    Candidate c;
    c.def = rd;
    TypeRecord &t = c.record;
    if (rd->getIdentifier()) {
      t.tag = rd->getName().str();
      t.name = fmt::format("{} {}", rd->isUnion() ? "union" : "struct", t.tag);
    } else if (auto *td = rd->getTypedefNameForAnonDecl()) {
      t.name = td->getName().str();
    } else {
      continue;
    }
    t.file = p.getFilename();
    t.line = p.getLine();
    t.reason = Reason::None;
    const PinnedWrap *pw = pinnedWrap(in, t.tag);
    if (in.pinned && !pw) {
      t.reason = Reason::TypeNotSelected;
      t.detail = "not wrapped in the running program";
    } else if (pw) {
      // Wrapped in the running program: only what makes wrapping
      // impossible counts (checked below).
    } else if (opts.fileExcluded) {
      t.reason = Reason::TypeNotSelected;
      t.detail = "the file is not instrumented";
    } else if (opts.typesOff) {
      t.reason = Reason::TypeRewriteFailed;
      t.detail = opts.typesOffWhy;
    } else if (PolicyDecision pd = opts.policy ? opts.policy->type(t.tag.empty() ? t.name : t.tag)
                                                : PolicyDecision{true, ""};
               !pd.instrument) {
      t.reason = Reason::TypeNotSelected;
      t.detail = pd.reason;
    }
    if (t.reason != Reason::None) {
    } else if (rd->isUnion()) {
      t.reason = Reason::TypeUnion;
    } else if (!rd->getIdentifier()) {
      t.reason = Reason::TypeAnonymous;
    } else if (rd->hasAttr<PackedAttr>() || rd->hasAttr<AlignedAttr>() ||
               rd->hasAttr<MaxFieldAlignmentAttr>()) {
      t.reason = Reason::TypeLayoutAttribute;
    } else if (rd->hasFlexibleArrayMember() || endsInVariableArray(rd)) {
      t.reason = Reason::TypeFlexibleArray;
    }
    cands.push_back(std::move(c));
  }

  std::map<const RecordDecl *, Candidate *> byDecl;
  for (Candidate &c : cands)
    if (c.record.reason == Reason::None)
      byDecl[c.def] = &c;
  UseScanner scan(byDecl, sm, lo, in.skip, opts.addressSpaceMarks);
  if (!byDecl.empty())
    scan.TraverseDecl(ctx.getTranslationUnitDecl());
  for (auto &[cast, c] : scan.escapes) {
    if (c->record.reason != Reason::None || scan.handedToMemory.count(cast))
      continue;
    c->record.reason = Reason::TypeFirstMemberAlias;
    c->record.detail = presumedFileLine(sm, cast->getBeginLoc());
  }

  // The definition must stand alone (`struct T { ... };`, attributes after
  // the brace allowed: they stay on the representation) and be editable.
  auto tokenAfter = [&](SourceLocation editLoc, Token &tok) {
    llvm::StringRef buf = sm.getBufferData(sm.getFileID(editLoc));
    unsigned off = sm.getFileOffset(editLoc);
    Lexer lex(sm.getLocForStartOfFile(sm.getFileID(editLoc)), lo, buf.begin(), buf.begin() + off,
              buf.end());
    Token skip;
    lex.LexFromRawLexer(skip); // the token at editLoc
    for (;;) {
      if (lex.LexFromRawLexer(tok) && tok.is(tok::eof))
        return true;
      if (!tok.is(tok::raw_identifier) || tok.getRawIdentifier() != "__attribute__")
        return true;
      int depth = 0;
      do {
        if (lex.LexFromRawLexer(tok) && tok.is(tok::eof))
          return true;
        if (tok.is(tok::l_paren))
          ++depth;
        else if (tok.is(tok::r_paren))
          --depth;
      } while (depth > 0);
    }
  };
  std::string tail;
  for (Candidate &c : cands) {
    TypeRecord &t = c.record;
    if (t.reason == Reason::None) {
      SourceLocation tag = in.edit(c.def->getLocation());
      SourceLocation rbrace = in.edit(c.def->getBraceRange().getEnd());
      Token next;
      if (tag.isInvalid() || rbrace.isInvalid()) {
        t.reason = Reason::TypeUneditable;
        t.detail = "its definition is not in editable text";
      } else if (!tokenAfter(rbrace, next) || !next.is(tok::semi)) {
        t.reason = Reason::TypeDeclarators;
      } else {
        // Every use must be editable before anything is edited.
        for (const MemberExpr *me : c.members)
          if (in.edit(me->getBase()->getBeginLoc()).isInvalid() ||
              in.edit(me->getOperatorLoc()).isInvalid()) {
            t.reason = Reason::TypeUneditable;
            t.detail = "a member access is not in editable text";
          }
        for (const InitListExpr *ile : c.inits)
          if (in.edit(ile->getLBraceLoc()).isInvalid() || in.edit(ile->getRBraceLoc()).isInvalid()) {
            t.reason = Reason::TypeUneditable;
            t.detail = "an initializer is not in editable text";
          }
        for (auto &[oe, i] : c.offsets)
          if (in.edit(oe->getComponent(i).getEndLoc()).isInvalid()) {
            t.reason = Reason::TypeUneditable;
            t.detail = "an offsetof is not in editable text";
          }
      }
      if (t.reason == Reason::None) {
        const PinnedWrap *pw = pinnedWrap(in, t.tag);
        const unsigned version = pw ? pw->version : 0;
        const std::string rep = fmt::format(DSU_REP_PREFIX "{}_{}", t.tag, version);
        const QualType repType = ctx.getRecordType(c.def);
        t.updateable = true;
        t.repSize = ctx.getTypeSize(repType) / 8;
        t.slop = pw ? 0 : opts.typeSlop;
        // The union is aligned to at least 8 and its slop rounded up to
        // it, so a later version may add a pointer or a long to a struct
        // of ints (the representation is at the same offset in every
        // version, so its alignment cannot grow past the union's).
        const uint64_t align = std::max<uint64_t>(ctx.getTypeAlign(repType) / 8, kUnionAlign);
        const uint64_t slopArray = (t.repSize + t.slop + kUnionAlign - 1) / kUnionAlign * kUnionAlign;
        t.unionSize = pw ? pw->unionSize : (slopArray + align - 1) / align * align;
        t.unionAlign = align;
        t.uses = c.members.size() + c.inits.size() + c.offsets.size();
        in.rw.ReplaceText(tag, t.tag.size(), rep);
        // The representation's fields may name the struct first inside a
        // prototype (`void (*func)(struct T *)`), where a tag not declared
        // yet would be a new one of the prototype's scope: the tag the
        // definition declared is declared before it.
        if (!c.def->getPreviousDecl())
          if (SourceLocation begin = in.edit(c.def->getBeginLoc()); begin.isValid())
            in.rw.InsertTextBefore(begin, fmt::format("struct {}; ", t.tag));
        const std::string tagValue =
            fmt::format("{:#x}u", typeTag(in.opts.tuName, "struct " + t.tag));
        const std::string text =
            wrapperText({t.tag, rep, version, tagValue, pw, opts.typeSlop, opts.kernel});
        in.rw.InsertTextAfterToken(next.getLocation(), text);
        for (const InitListExpr *ile : c.inits) {
          in.rw.ReplaceText(in.edit(ile->getLBraceLoc()), 1,
                            fmt::format("{{ {}, {}, {{ .__dsu_data = {{",
                                        version ? fmt::format("DSU_TYPE_MAGIC | {}u", version)
                                                : "DSU_TYPE_MAGIC",
                                        tagValue));
          in.rw.ReplaceText(in.edit(ile->getRBraceLoc()), 1, "} } }");
        }
        for (auto &[oe, i] : c.offsets)
          in.rw.InsertTextBefore(in.edit(oe->getComponent(i).getEndLoc()), "__dsu_u.__dsu_data.");
        wrappedAny = true;
      }
    }
  }
  for (auto &[c, me, direct] : scan.ordered) {
    if (!c->record.updateable)
      continue;
    const std::string con =
        std::string(scan.writes.count(me) ? DSU_CON_PREFIX : DSU_CONR_PREFIX) + c->record.tag;
    SourceLocation b = in.edit(me->getBase()->getBeginLoc());
    SourceLocation op = in.edit(me->getOperatorLoc());
    if (direct) {
      in.rw.ReplaceText(op, me->isArrow() ? 2 : 1,
                        me->isArrow() ? "->__dsu_u.__dsu_data." : ".__dsu_u.__dsu_data.");
    } else if (me->isArrow()) {
      in.rw.InsertTextBefore(b, con + "(");
      in.rw.ReplaceText(op, 2, ")->");
    } else {
      in.rw.InsertTextBefore(b, con + "(&(");
      in.rw.ReplaceText(op, 1, "))->");
    }
  }
  // One declaration after each declaration statement with fresh locals of
  // wrapped types: `struct T x, y;` gains
  //   int __dsu_marked_<offset> __attribute__((__unused__)) = __dsu_mark_T(&x) + __dsu_mark_T(&y);
  // (a declaration, not a statement: C90-style code stays warning-free).
  // A declaration in a macro or a for's init is left to the slow path.
  for (size_t i = 0; i < scan.locals.size();) {
    const DeclStmt *ds = scan.locals[i].stmt;
    std::string marks;
    for (; i < scan.locals.size() && scan.locals[i].stmt == ds; ++i)
      if (scan.locals[i].type->record.updateable)
        marks += fmt::format("{}" DSU_MARK_PREFIX "{}(&{})", marks.empty() ? "" : " + ",
                             scan.locals[i].type->record.tag, scan.locals[i].var->getName().str());
    SourceLocation semi = in.edit(ds->getEndLoc());
    if (marks.empty() || scan.forInits.count(ds) || semi.isInvalid() ||
        in.edit(ds->getBeginLoc()).isInvalid())
      continue;
    in.rw.InsertTextAfterToken(
        semi, fmt::format(" int __dsu_marked_{} __attribute__((__unused__)) = {};",
                          sm.getFileOffset(semi), marks));
  }
  for (Candidate &c : cands)
    types.push_back(c.record);
  return tail;
}

} // namespace dsu
