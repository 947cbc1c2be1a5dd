// The patch rewrite of shadow fields: uses of fields added to a struct that
// is not wrapped go to the runtime's shadow storage.
#include "PatchRewriter.h"

#include "Hashing.h"
#include "RewriteRecords.h"

#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Lex/Lexer.h>

using namespace clang;

namespace dsu {

namespace {

// Member accesses of shadow fields, inner before outer, and frees of
// objects of shadowed types, in the code the patch keeps.
class ShadowUseScanner : public RecursiveASTVisitor<ShadowUseScanner> {
public:
  ShadowUseScanner(const std::map<const FieldDecl *, std::string> &fields,
                   const std::set<const RecordDecl *> &records, const std::set<const Decl *> &dropped)
      : fields_(fields), records_(records), dropped_(dropped) {}
  bool shouldTraversePostOrder() const { return true; }
  bool TraverseFunctionDecl(FunctionDecl *fd) {
    return dropped_.count(fd) ? true : RecursiveASTVisitor::TraverseFunctionDecl(fd);
  }
  bool TraverseVarDecl(VarDecl *vd) {
    return dropped_.count(vd) ? true : RecursiveASTVisitor::TraverseVarDecl(vd);
  }
  bool VisitMemberExpr(MemberExpr *me) {
    if (const auto *fd = dyn_cast<FieldDecl>(me->getMemberDecl()); fd && fields_.count(fd))
      members.push_back(me);
    return true;
  }
  bool VisitCallExpr(CallExpr *ce) {
    for (auto &[arg, rd] : freedRecords(ce))
      if (records_.count(rd))
        freed.push_back({arg, rd});
    return true;
  }
  std::vector<MemberExpr *> members;
  std::vector<std::pair<Expr *, const RecordDecl *>> freed;

private:
  const std::map<const FieldDecl *, std::string> &fields_;
  const std::set<const RecordDecl *> &records_;
  const std::set<const Decl *> &dropped_;
};

} // namespace

// Shadow fields: the struct keeps the running layout (the added fields are
// cut out of its definition); each use of an added field goes to the
// runtime's shadow storage for (object, field), and the objects the patch
// code frees release theirs.
void PatchRewriter::shadowFields() {
  std::map<const FieldDecl *, std::string> fields; // field -> typedef name
  std::set<const RecordDecl *> records;
  std::map<const RecordDecl *, const ShadowUpdate *> updates;
  PrintingPolicy policy(lo_);
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
    auto *rd = dyn_cast<RecordDecl>(d);
    if (!rd || !rd->isThisDeclarationADefinition() || !rd->getIdentifier())
      continue;
    for (const ShadowUpdate &su : plan_.shadowUpdates) {
      if (su.tag != rd->getName() || rd->isUnion())
        continue;
      records.insert(rd);
      updates[rd] = &su;
      std::string typedefs;
      for (FieldDecl *fd : rd->fields()) {
        if (std::find(su.added.begin(), su.added.end(), fd->getName().str()) == su.added.end())
          continue;
        const std::string tname = fmt::format("__dsu_shadow_t_{}_{}", su.tag, fd->getName().str());
        fields[fd] = tname;
        std::string decl;
        llvm::raw_string_ostream os(decl);
        fd->getType().print(os, policy, tname);
        typedefs += " typedef " + os.str() + ";";
        // Cut the declaration out: from its first token to its ';'.
        SourceLocation b = edit(fd->getBeginLoc()), e = edit(fd->getEndLoc());
        Token semi;
        bool alone = false;
        if (b.isValid() && e.isValid()) {
          Lexer lex(sm_.getLocForStartOfFile(map_.file), lo_, buffer_.begin(),
                    buffer_.begin() + offset(e), buffer_.end());
          Token last;
          lex.LexFromRawLexer(last);
          alone = !lex.LexFromRawLexer(semi) && semi.is(tok::semi);
        }
        if (!alone) {
          errors_.push_back(fmt::format("{}: error: cannot cut the shadow field '{}' out of {} "
                                        "(declare it on its own: `type name;`)",
                                        where(fd->getLocation()), fd->getName().str(), su.name));
          continue;
        }
        std::string keep;
        for (char ch : buffer_.slice(offset(b), offset(semi.getLocation()) + 1))
          if (ch == '\n')
            keep += '\n';
        rw_.ReplaceText(b, offset(semi.getLocation()) + 1 - offset(b), keep);
      }
      // The field types, after the definition's ';'.
      SourceLocation rb = edit(rd->getBraceRange().getEnd());
      if (rb.isValid()) {
        Lexer lex(sm_.getLocForStartOfFile(map_.file), lo_, buffer_.begin(),
                  buffer_.begin() + offset(rb), buffer_.end());
        Token tok;
        while (!lex.LexFromRawLexer(tok) && !tok.is(tok::semi))
          ;
        if (tok.is(tok::semi))
          rw_.InsertTextAfterToken(tok.getLocation(), typedefs);
      }
    }
  }
  ShadowUseScanner scan(fields, records, dropped_);
  scan.TraverseDecl(ctx_.getTranslationUnitDecl());
  for (MemberExpr *me : scan.members) {
    const auto *fd = cast<FieldDecl>(me->getMemberDecl());
    const std::string &tname = fields.at(fd);
    const RecordDecl *rd = fd->getParent();
    const std::string id = "0x" + sha256Hex(fmt::format("{}.{}", updates.at(rd)->name,
                                                        fd->getName().str()), 8) + "ul";
    SourceLocation b = edit(me->getBase()->getBeginLoc()), op = edit(me->getOperatorLoc()),
                   m = edit(me->getMemberLoc());
    if (b.isInvalid() || op.isInvalid() || m.isInvalid()) {
      errors_.push_back(fmt::format("{}: error: cannot edit this use of the shadow field '{}'",
                                    where(me->getExprLoc()), fd->getName().str()));
      continue;
    }
    rw_.InsertTextBefore(b, fmt::format("(*({} *)__dsu_shadow({}(", tname, me->isArrow() ? "" : "&"));
    rw_.ReplaceText(op, offset(m) + fd->getName().size() - offset(op),
                    fmt::format("), {}, sizeof({})))", id, tname));
  }
  std::set<const RecordDecl *> released;
  for (auto &[arg, rd] : scan.freed) {
    SourceLocation b = edit(arg->getBeginLoc()), e = edit(arg->getEndLoc());
    if (b.isInvalid() || e.isInvalid())
      continue;
    rw_.InsertTextBefore(b, "__dsu_shadow_release(");
    rw_.InsertTextAfterToken(e, ")");
    released.insert(rd);
  }
  for (const RecordDecl *rd : records)
    if (!released.count(rd))
      warnings_.push_back(fmt::format(
          "{}: warning: no function in the patch frees a {}: its shadow fields are released "
          "only where the patch code frees one (kfree, kmem_cache_free, free ...); include the "
          "function that frees it, or they outlive their objects",
          where(rd->getLocation()), updates.at(rd)->name));
}

} // namespace dsu
