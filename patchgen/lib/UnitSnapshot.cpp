// A unit's snapshot: what a version of it defines, read from its AST.
#include "UnitSnapshot.h"
#include "FunctionUses.h"
#include "PreprocessedDiff.h"

#include "RewriteRecords.h"
#include "TypeWrapping.h"
#include "UnitAST.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/Decl.h>
#include <clang/AST/PrettyPrinter.h>
#include <clang/AST/RecordLayout.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/Stmt.h>
#include <clang/Basic/SourceManager.h>
#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <cctype>

using namespace clang;

namespace dsu {

namespace {

// Prints __LINE__ expansions as "__LINE__": a function whose only change is
// that code above it moved keeps its text. (__FILE__, whose path is where
// the new tree is, is masked in snapshotUnit.)
struct LineMask : PrinterHelper {
  const SourceManager &sm;
  explicit LineMask(const SourceManager &s) : sm(s) {}
  bool handledStmt(Stmt *s, raw_ostream &os) override {
    if (auto *il = dyn_cast<IntegerLiteral>(s)) {
      SourceLocation sp = sm.getSpellingLoc(il->getLocation());
      if (sp.isValid() && sm.isWrittenInScratchSpace(sp)) {
        os << "__LINE__";
        return true;
      }
    }
    return false;
  }
};

// A variable in a section the link discards (.discard, .discard.*).
bool discarded(const VarDecl *vd) {
  const auto *s = vd->getAttr<SectionAttr>();
  return s && s->getName().starts_with(".discard");
}

std::string printStmt(const Stmt *s, ASTContext &ctx) {
  if (!s)
    return "";
  std::string out;
  llvm::raw_string_ostream os(out);
  LineMask mask(ctx.getSourceManager());
  PrintingPolicy policy(ctx.getLangOpts());
  // "struct (unnamed at f.c:12:3)" would change whenever code above moves
  // (the kernel's BUILD_BUG_ON_ZERO in ARRAY_SIZE is such a struct).
  policy.AnonymousTagLocations = false;
  s->printPretty(os, &mask, policy);
  return maskUniqueIds(out);
}

// Concrete uses of struct types in a function body: what type wrapping
// routes through an accessor (compiler/lib/TypeWrapping.cpp).
class TypeUseCollector : public RecursiveASTVisitor<TypeUseCollector> {
public:
  std::set<std::string> types, freed;
  bool VisitCallExpr(CallExpr *ce) {
    for (auto &[arg, rd] : freedRecords(ce))
      freed.insert("struct " + rd->getName().str());
    return true;
  }
  bool VisitMemberExpr(MemberExpr *me) {
    QualType base = me->getBase()->getType();
    if (me->isArrow())
      base = base->getPointeeType();
    note(base);
    return true;
  }
  bool VisitInitListExpr(InitListExpr *ile) {
    note(ile->getType());
    return true;
  }
  bool VisitOffsetOfExpr(OffsetOfExpr *oe) {
    for (unsigned i = 0; i < oe->getNumComponents(); ++i)
      if (oe->getComponent(i).getKind() == OffsetOfNode::Field)
        noteRecord(oe->getComponent(i).getField()->getParent());
    return true;
  }

private:
  void note(QualType t) {
    if (!t.isNull())
      if (const auto *rt = t->getAs<RecordType>())
        noteRecord(rt->getDecl());
  }
  void noteRecord(const RecordDecl *rd) {
    if (rd && rd->getIdentifier() && !rd->isUnion())
      types.insert("struct " + rd->getName().str());
  }
};

// Fields whose address is taken (`&p->f`, `&p->f.g`, `&p->a[i]`): pointers
// into an instance that a transform moving the field would leave behind.
class AddressTakenCollector : public RecursiveASTVisitor<AddressTakenCollector> {
public:
  explicit AddressTakenCollector(const SourceManager &sm) : sm_(sm) {}
  std::map<const FieldDecl *, std::string> fields;
  bool VisitUnaryOperator(UnaryOperator *uo) {
    if (uo->getOpcode() != UO_AddrOf)
      return true;
    forEachMemberOnPath(uo->getSubExpr(), [&](const MemberExpr *me) {
      if (const auto *fd = dyn_cast<FieldDecl>(me->getMemberDecl()); fd && !fields.count(fd)) {
        PresumedLoc p = presumedLoc(sm_, uo->getBeginLoc());
        fields[fd] = p.isValid() ? fmt::format("{}:{}", p.getFilename(), p.getLine()) : "?";
      }
    });
    return true;
  }

private:
  const SourceManager &sm_;
};

// The name, place and linkage a snapshot records of a definition.
template <typename Definition>
Definition definitionAt(const NamedDecl *d, const std::string &file, const SourceManager &sm) {
  Definition out;
  out.name = d->getName().str();
  out.file = file;
  out.line = presumedLine(sm, d->getLocation());
  out.col = presumedColumn(sm, d->getLocation());
  out.external = d->isExternallyVisible();
  return out;
}

} // namespace

UnitSnapshot snapshotUnit(ASTContext &ctx, const std::string &transformerFile,
                          const std::set<std::string> &shadowed,
                          const std::function<bool(const std::string &)> &fromChangedHeader) {
  UnitSnapshot u;
  const SourceManager &sm = ctx.getSourceManager();
  PrintingPolicy policy(ctx.getLangOpts());
  policy.AnonymousTagLocations = false; // as in printStmt

  AddressTakenCollector addressTaken(sm);
  addressTaken.TraverseDecl(ctx.getTranslationUnitDecl());
  for (const auto &[fd, use] : functionUses(ctx))
    if (use.escapes)
      u.addressEscapes.insert(fd->getName().str());
  for (Decl *d : ctx.getTranslationUnitDecl()->decls()) {
    std::string file = presumedFile(sm, d->getLocation());
    const auto *shadowRecord = dyn_cast<RecordDecl>(d);
    const bool shadowedHere = shadowRecord && shadowRecord->getIdentifier() &&
                              shadowed.count(shadowRecord->getName().str());
    if (!transformerFile.empty() && file == transformerFile)
      continue;
    if (!isCSourceFile(file) && !shadowedHere && !(fromChangedHeader && fromChangedHeader(file))) {
      // Other headers' inline functions are not compared, but a change
      // reaches callers through them.
      if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody()) {
        RefCollector rc;
        rc.TraverseStmt(fd->getBody());
        for (DeclRefExpr *r : rc.refs)
          if (auto *callee = dyn_cast<FunctionDecl>(r->getDecl()))
            u.calls[fd->getName().str()].insert(callee->getName().str());
      }
      continue;
    }
    if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody()) {
      auto f = definitionAt<UnitSnapshot::Function>(fd, file, sm);
      f.proto = fmt::format("{} {}", f.external ? "extern" : "static",
                            fd->getType().getCanonicalType().getAsString(policy));
      f.text = f.proto + " " + printStmt(fd->getBody(), ctx);
      // __FILE__ in declarations too (the printer's helper does not reach
      // initializers): the unit's path is where it was parsed, not a change.
      for (size_t at = 0; (at = f.text.find("\"" + file + "\"", at)) != std::string::npos;)
        f.text.replace(at, file.size() + 2, "__FILE__");
      RefCollector rc;
      rc.TraverseStmt(fd->getBody());
      for (DeclRefExpr *r : rc.refs)
        if (auto *callee = dyn_cast<FunctionDecl>(r->getDecl()))
          u.calls[f.name].insert(callee->getName().str());
      TypeUseCollector tc;
      tc.TraverseStmt(fd->getBody());
      if (!tc.types.empty())
        u.typeUses[f.name] = std::move(tc.types);
      if (!tc.freed.empty())
        u.frees[f.name] = std::move(tc.freed);
      u.functions[f.name] = std::move(f);
    } else if (auto *vd = dyn_cast<VarDecl>(d); vd && discarded(vd)) {
      // Not data of the program: the linker drops it (the kernel's
      // __ADDRESSABLE entries behind EXPORT_SYMBOL, named by __COUNTER__).
    } else if (auto *vd = dyn_cast<VarDecl>(d); vd && vd->isFileVarDecl() &&
                                                vd->isThisDeclarationADefinition() !=
                                                    VarDecl::DeclarationOnly) {
      auto v = definitionAt<UnitSnapshot::Variable>(vd, file, sm);
      v.type = vd->getType().getCanonicalType().getAsString(policy);
      v.init = printStmt(vd->getInit(), ctx);
      auto &slot = u.variables[v.name];
      if (slot.name.empty() || !v.init.empty())
        slot = std::move(v);
    } else if (auto *rd = dyn_cast<RecordDecl>(d); rd && rd->isThisDeclarationADefinition()) {
      UnitSnapshot::Type t;
      if (rd->getIdentifier())
        t.name = fmt::format("{} {}", rd->isUnion() ? "union" : "struct", rd->getName().str());
      else if (auto *td = rd->getTypedefNameForAnonDecl())
        t.name = td->getName().str();
      else
        continue;
      t.file = file;
      t.line = presumedLine(sm, rd->getLocation());
      t.col = presumedColumn(sm, rd->getLocation());
      {
        llvm::raw_string_ostream os(t.text);
        rd->print(os, policy);
      }
      if (rd->getIdentifier())
        t.tag = rd->getName().str();
      if (!rd->isUnion() && !rd->isInvalidDecl() && rd->getDefinition()) {
        const ASTRecordLayout &layout = ctx.getASTRecordLayout(rd);
        t.size = layout.getSize().getQuantity();
        t.align = layout.getAlignment().getQuantity();
        for (const FieldDecl *fd : rd->fields()) {
          if (fd->getName().empty()) {
            t.unnamedMembers = true;
            continue;
          }
          UnitSnapshot::Type::Field f;
          f.name = fd->getName().str();
          f.type = fd->getType().getCanonicalType().getAsString(policy);
          f.bitField = fd->isBitField();
          f.record = fd->getType()->isRecordType();
          f.offset = layout.getFieldOffset(fd->getFieldIndex()) / 8;
          if (auto it = addressTaken.fields.find(fd); it != addressTaken.fields.end())
            f.addressTakenAt = it->second;
          if (f.bitField)
            f.type += fmt::format(" : {}", fd->getBitWidthValue(ctx));
          for (const auto *a : fd->specific_attrs<AnnotateAttr>())
            if (a->getAnnotation().starts_with("dsu_default="))
              f.defaultValue = a->getAnnotation().substr(12).str();
          t.fields.push_back(std::move(f));
        }
        // One line (the patch code keeps its line markers), single spaces.
        for (char ch : t.text) {
          bool space = ch == '\n' || ch == ' ' || ch == '\t';
          if (!space)
            t.definition += ch;
          else if (!t.definition.empty() && t.definition.back() != ' ')
            t.definition += ' ';
        }
      }
      u.types[t.name] = std::move(t);
    }
  }
  return u;
}

} // namespace dsu
