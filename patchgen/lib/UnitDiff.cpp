#include "UnitDiff.h"

#include "Indirection.h"
#include "Reasons.h"
#include "PatchTypeWrap.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/Decl.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/RecordLayout.h>
#include <clang/AST/PrettyPrinter.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/Stmt.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <regex>
#include <deque>
#include <functional>

using namespace clang;

namespace dsu {

namespace {

constexpr unsigned kRefFunc = 1, kRefVar = 2, kRefSymbol = 3, kRefType = 4; // DSU_REF_* (abi.h)

bool isSourceFile(llvm::StringRef file) { return file.ends_with(".c") || file.ends_with(".i"); }

std::string presumedFile(const SourceManager &sm, SourceLocation loc) {
  PresumedLoc p = sm.getPresumedLoc(sm.getExpansionLoc(loc));
  return p.isValid() ? p.getFilename() : "";
}
unsigned presumedLine(const SourceManager &sm, SourceLocation loc) {
  PresumedLoc p = sm.getPresumedLoc(sm.getExpansionLoc(loc));
  return p.isValid() ? p.getLine() : 0;
}
unsigned presumedColumn(const SourceManager &sm, SourceLocation loc) {
  PresumedLoc p = sm.getPresumedLoc(sm.getExpansionLoc(loc));
  return p.isValid() ? p.getColumn() : 1;
}

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
  return out;
}

class RefCollector : public RecursiveASTVisitor<RefCollector> {
public:
  std::vector<DeclRefExpr *> refs;
  std::vector<PredefinedExpr *> predefined;
  // The static local whose initializer each reference is in (null if none).
  std::vector<const VarDecl *> inStaticInit;
  bool VisitDeclRefExpr(DeclRefExpr *r) {
    refs.push_back(r);
    inStaticInit.push_back(staticInit_);
    return true;
  }
  bool TraverseVarDecl(VarDecl *vd) {
    const VarDecl *saved = staticInit_;
    if (vd->isStaticLocal())
      staticInit_ = vd;
    bool ok = RecursiveASTVisitor::TraverseVarDecl(vd);
    staticInit_ = saved;
    return ok;
  }
  bool VisitPredefinedExpr(PredefinedExpr *p) {
    predefined.push_back(p);
    return true;
  }

private:
  const VarDecl *staticInit_ = nullptr;
};

// Concrete uses of struct types in a function body: what type wrapping
// routes through an accessor (compiler/lib/TypeWrapping.cpp).
// The struct objects a call of the free family releases: (argument, record).
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
        PresumedLoc p = sm_.getPresumedLoc(sm_.getExpansionLoc(uo->getBeginLoc()));
        fields[fd] = p.isValid() ? fmt::format("{}:{}", p.getFilename(), p.getLine()) : "?";
      }
    });
    return true;
  }

private:
  const SourceManager &sm_;
};

// The first label address (`&&l`) in a static local's initializer: such a
// value points into its function's code, so the running instance is only
// right for the running (old) version of the function.
const AddrLabelExpr *labelAddressIn(const Stmt *s) {
  if (!s)
    return nullptr;
  if (const auto *al = dyn_cast<AddrLabelExpr>(s))
    return al;
  for (const Stmt *c : s->children())
    if (const AddrLabelExpr *al = labelAddressIn(c))
      return al;
  return nullptr;
}

// A use of a variable that may change it: `assigned` when it (or an element
// or member) is stored to or incremented there, else its address escapes
// (the array decayed to a pointer that goes anywhere but into a read).
struct RuntimeWrite {
  const Expr *at = nullptr;
  bool assigned = false;
};

// Follows one reference up through what only reads: element and member
// selection, pointer arithmetic on the decayed array, the load, sizeof. The
// parent map is the AST's (implicit casts included).
RuntimeWrite writeThrough(ASTContext &ctx, const DeclRefExpr *ref) {
  bool pointer = false; // false: an lvalue of the variable or part of it
  const Expr *cur = ref;
  while (true) {
    auto parents = ctx.getParents(*cur);
    const Expr *p = parents.size() == 1 ? parents[0].get<Expr>() : nullptr;
    if (!p)
      return {cur, false}; // used as a statement's operand: conservatively an escape
    if (isa<ParenExpr>(p)) {
      cur = p;
      continue;
    }
    if (const auto *ic = dyn_cast<ImplicitCastExpr>(p)) {
      if (!pointer && ic->getCastKind() == CK_LValueToRValue)
        return {};
      if (!pointer && ic->getCastKind() == CK_ArrayToPointerDecay)
        pointer = true;
      else if (ic->getCastKind() != CK_NoOp)
        return {p, false};
      cur = p;
      continue;
    }
    if (pointer) {
      if (const auto *as = dyn_cast<ArraySubscriptExpr>(p); as && as->getBase() == cur) {
        pointer = false;
      } else if (const auto *uo = dyn_cast<UnaryOperator>(p); uo && uo->getOpcode() == UO_Deref) {
        pointer = false;
      } else if (const auto *me = dyn_cast<MemberExpr>(p);
                 me && me->isArrow() && me->getBase() == cur) {
        pointer = false; // tab->field: a member of the first element
      } else if (const auto *bo = dyn_cast<BinaryOperator>(p);
                 bo && (bo->isAdditiveOp() || bo->isComparisonOp())) {
        if (!bo->getType()->isPointerType())
          return {}; // a comparison or a difference: a number
      } else {
        return {p, false};
      }
      cur = p;
      continue;
    }
    if (isa<UnaryExprOrTypeTraitExpr>(p))
      return {};
    if (const auto *me = dyn_cast<MemberExpr>(p); me && !me->isArrow() && me->getBase() == cur) {
      cur = p;
      continue;
    }
    const auto *bo = dyn_cast<BinaryOperator>(p);
    const auto *uo = dyn_cast<UnaryOperator>(p);
    return {p, (bo && bo->isAssignmentOp() && bo->getLHS() == cur) ||
                   (uo && uo->isIncrementDecrementOp())};
  }
}

// The static locals of a function (blocks do not make declaration contexts
// of their own in C, so the body is walked).
class StaticLocalCollector : public RecursiveASTVisitor<StaticLocalCollector> {
public:
  std::vector<VarDecl *> vars;
  bool VisitVarDecl(VarDecl *vd) {
    if (vd->isStaticLocal())
      vars.push_back(vd);
    return true;
  }
};

bool foldable(const std::string &reason) {
  return reason == "inline" || reason == "needs_inlining" || reason == "constant_body" ||
         reason == "always_inline";
}

std::string escapeC(llvm::StringRef in) { return escapeCString(in); }

} // namespace

UnitSnapshot snapshotUnit(ASTContext &ctx, const std::string &transformerFile,
                          const std::set<std::string> &shadowed) {
  UnitSnapshot u;
  const SourceManager &sm = ctx.getSourceManager();
  PrintingPolicy policy(ctx.getLangOpts());
  policy.AnonymousTagLocations = false; // as in printStmt

  AddressTakenCollector addressTaken(sm);
  addressTaken.TraverseDecl(ctx.getTranslationUnitDecl());
  for (Decl *d : ctx.getTranslationUnitDecl()->decls()) {
    std::string file = presumedFile(sm, d->getLocation());
    const auto *shadowRecord = dyn_cast<RecordDecl>(d);
    const bool shadowedHere = shadowRecord && shadowRecord->getIdentifier() &&
                              shadowed.count(shadowRecord->getName().str());
    if ((!isSourceFile(file) && !shadowedHere) ||
        (!transformerFile.empty() && file == transformerFile))
      continue;
    if (auto *fd = dyn_cast<FunctionDecl>(d); fd && fd->doesThisDeclarationHaveABody()) {
      UnitSnapshot::Function f;
      f.name = fd->getName().str();
      f.file = file;
      f.line = presumedLine(sm, fd->getLocation());
      f.col = presumedColumn(sm, fd->getLocation());
      f.external = fd->isExternallyVisible();
      f.proto = fmt::format("{} {}", f.external ? "extern" : "static",
                            fd->getType().getCanonicalType().getAsString());
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
    } else if (auto *vd = dyn_cast<VarDecl>(d); vd && vd->isFileVarDecl() &&
                                                vd->isThisDeclarationADefinition() !=
                                                    VarDecl::DeclarationOnly) {
      UnitSnapshot::Variable v;
      v.name = vd->getName().str();
      v.file = file;
      v.line = presumedLine(sm, vd->getLocation());
      v.col = presumedColumn(sm, vd->getLocation());
      v.external = vd->isExternallyVisible();
      v.type = vd->getType().getCanonicalType().getAsString();
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
          f.type = fd->getType().getCanonicalType().getAsString();
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

namespace {

// Reasons a function that is not updateable may still use a changed type:
// its code never runs again (it ran once, at boot or program start).
bool ranOnce(const std::string &reason) { return reason == "init" || reason == "constructor"; }

std::string joinNames(const std::vector<std::string> &v) {
  std::string out;
  for (const std::string &s : v)
    out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

// Compares a wrapped type's old and new definitions; errors when the new
// one cannot replace the old one in place.
TypeUpdate planTypeUpdate(const BaseUnit::WrappedType &w, const UnitSnapshot::Type &oldT,
                          const UnitSnapshot::Type &newT, const std::string &tu,
                          const std::set<std::string> &userTransformers, UnitPlan &plan) {
  auto where = fmt::format("{}:{}:{}", newT.file, newT.line, newT.col);
  TypeUpdate u;
  u.name = newT.name;
  u.tag = w.tag;
  u.file = newT.file;
  u.line = newT.line;
  u.col = newT.col;
  u.from = w.version;
  u.to = w.version + 1;
  u.newSize = newT.size;
  u.unionSize = w.unionSize;
  u.userTransformer = userTransformers.count(w.tag) > 0;
  if (newT.size > w.unionSize)
    plan.errors.push_back(fmt::format(
        "{}: error: the new {} needs {} bytes, but its instances have room for {} (the {}-byte "
        "representation they were built with plus {} bytes of slop); rebuild the program with "
        "more slop (DSU_TYPE_SLOP) to allow this change",
        where, newT.name, newT.size, w.unionSize, w.unionSize - w.slop, w.slop));
  if (newT.align > w.unionAlign)
    plan.errors.push_back(fmt::format(
        "{}: error: the new {} needs {}-byte alignment, but its instances are aligned to {} "
        "bytes",
        where, newT.name, newT.align, w.unionAlign));
  if (newT.unnamedMembers || oldT.unnamedMembers)
    plan.errors.push_back(fmt::format(
        "{}: error: {} has anonymous struct or union members: dsu-patchgen matches fields by "
        "name and cannot transform it",
        where, newT.name));
  std::map<std::string, const UnitSnapshot::Type::Field *> oldFields;
  for (const auto &f : oldT.fields)
    oldFields[f.name] = &f;
  std::set<std::string> seen;
  for (const auto &f : newT.fields) {
    seen.insert(f.name);
    auto it = oldFields.find(f.name);
    if (it == oldFields.end())
      u.added.push_back({f.name, f.defaultValue});
    else if (it->second->type == f.type) {
      u.copied.push_back({f.name, f.bitField});
      const auto &of = *it->second;
      if (!of.addressTakenAt.empty() && of.offset != f.offset) {
        // An embedded object (list head, lock ...) is linked to from
        // elsewhere for the instance's whole life; a scalar's address is
        // usually held only for a call (the safety analysis covers those).
        std::string msg = fmt::format(
            "{}: {}: field '{}' of {} moves from offset {} to {}, and its address is taken "
            "(at {}): pointers to it that outlive the update would dangle",
            where, of.record ? "error" : "warning", f.name, newT.name, of.offset, f.offset,
            of.addressTakenAt);
        if (of.record)
          plan.errors.push_back(msg + "; keep it where it is (add new fields after it)");
        else
          plan.warnings.push_back(msg);
      }
    } else
      u.retyped.push_back(fmt::format("{} ({} was {})", f.name, f.type, it->second->type));
  }
  for (const auto &f : oldT.fields)
    if (!seen.count(f.name))
      u.removed.push_back(f.name);
  u.oldDefinition = oldT.definition;
  // `struct T {` -> `struct __dsu_rep_T_<from> {`
  const std::string head = "struct " + w.tag;
  if (u.oldDefinition.compare(0, head.size(), head) == 0)
    u.oldDefinition.replace(0, head.size(), fmt::format("struct __dsu_rep_{}_{}", w.tag, u.from));
  u.newDefinition = newT.definition;
  if (u.newDefinition.compare(0, head.size(), head) == 0)
    u.newDefinition.replace(0, head.size(), fmt::format("struct __dsu_rep_{}_{}", w.tag, u.to));
  if (!u.retyped.empty() && !u.userTransformer) {
    plan.errors.push_back(fmt::format(
        "{}: error: {} changed the type of {}: dsu-patchgen cannot convert them; write "
        "dsu_transform_{}() (a stub is in OUT/transformers.c) and pass the file with "
        "--transformers FILE",
        where, newT.name, joinNames(u.retyped), w.tag));
    std::vector<std::string> copied;
    for (const auto &c : u.copied)
      copied.push_back(c.field);
    std::vector<std::string> added;
    for (const auto &a : u.added)
      added.push_back(a.second.empty() ? a.first : a.first + " = " + a.second);
    plan.transformerStubs += fmt::format(
        "/*\n * {0} of {1}, version {2} -> {3} ({4}).\n"
        " * Before calling this, dsu-patchgen copies {5};\n"
        " * sets the new fields: {6} (zero unless DSU_DEFAULT says otherwise);\n"
        " * drops {7}.\n"
        " * It cannot convert {8}: write that below (`from` is the old representation, `to`\n"
        " * the new one), delete the DSU_TRANSFORMER_STUB line, and pass this file to\n"
        " * dsu-patchgen with --transformers FILE. The code is merged into the patch's\n"
        " * copy of the unit: it may use the unit's types, functions and macros.\n */\n"
        "DSU_TRANSFORMER_STUB\n"
        "static void dsu_transform_{9}(struct __dsu_rep_{9}_{3} *to, const struct __dsu_rep_{9}_{2} "
        "*from)\n{{\n}}\n\n",
        newT.name, tu, u.from, u.to, where, joinNames(copied), joinNames(added),
        joinNames(u.removed), joinNames(u.retyped), w.tag);
  }
  return u;
}

} // namespace

UnitPlan planUnit(const BaseUnit &base, const UnitSnapshot &oldUnit, const UnitSnapshot &newUnit,
                  const std::string &patchName, const std::set<std::string> &userTransformers) {
  UnitPlan plan;
  plan.tu = base.tu;
  auto where = [](const std::string &file, unsigned line, unsigned col = 1) {
    return fmt::format("{}:{}:{}", file, line, col);
  };
  // Wrapped types whose layout changes: their transformers, and every
  // function using them concretely must run new code (compiled against the
  // new representation) after the update.
  std::map<std::string, std::string> changedTypes; // "struct T" -> where
  for (const auto &[name, t] : newUnit.types) {
    auto old = oldUnit.types.find(name);
    if (old == oldUnit.types.end() || old->second.text == t.text)
      continue;
    auto w = base.wrapped.find(name);
    if (w == base.wrapped.end() && !t.tag.empty() && base.shadowed.count(t.tag)) {
      // Added fields become shadow data; the rest must stay as it is.
      ShadowUpdate su;
      su.name = name;
      su.tag = t.tag;
      std::map<std::string, const UnitSnapshot::Type::Field *> newFields;
      for (const auto &f : t.fields)
        newFields[f.name] = &f;
      std::set<std::string> oldNames;
      for (const auto &f : old->second.fields) {
        oldNames.insert(f.name);
        auto nf = newFields.find(f.name);
        if (nf == newFields.end() || nf->second->type != f.type)
          plan.errors.push_back(fmt::format(
              "{}: error: field '{}' of shadowed {} is {}: a shadowed struct keeps its layout; "
              "a patch can only add fields to it",
              where(t.file, t.line, t.col), f.name, name,
              nf == newFields.end() ? "gone" : "retyped (" + nf->second->type + " was " + f.type + ")"));
      }
      for (const auto &f : t.fields)
        if (!oldNames.count(f.name)) {
          if (f.bitField)
            plan.errors.push_back(fmt::format("{}: error: the shadow field '{}' of {} is a "
                                              "bit-field; shadow fields must be addressable",
                                              where(t.file, t.line, t.col), f.name, name));
          su.added.push_back(f.name);
        }
      if (t.unnamedMembers != old->second.unnamedMembers)
        plan.errors.push_back(fmt::format("{}: error: anonymous members of shadowed {} changed",
                                          where(t.file, t.line, t.col), name));
      plan.shadowUpdates.push_back(std::move(su));
      continue;
    }
    if (w == base.wrapped.end()) {
      auto why = base.unwrapped.find(name);
      plan.errors.push_back(fmt::format(
          "{}: error: {} changed layout, but the running program does not wrap it (reason: {}), "
          "so its live instances cannot be transformed{}",
          where(t.file, t.line, t.col), name,
          why == base.unwrapped.end() ? "not in the manifest" : why->second,
          why != base.unwrapped.end() && why->second == "type_not_selected"
              ? " (DSU_CONFIG leaves it out)"
              : "; to add fields to it, name it with --shadow " + t.tag));
      continue;
    }
    plan.typeUpdates.push_back(
        planTypeUpdate(w->second, old->second, t, base.tu, userTransformers, plan));
    changedTypes[name] = where(t.file, t.line, t.col);
  }
  for (const auto &[name, t] : oldUnit.types)
    if (!newUnit.types.count(name) && base.wrapped.count(name))
      plan.errors.push_back(fmt::format("{}: error: {} is gone from the new version, but the "
                                        "running program has instances of it",
                                        where(t.file, t.line, t.col), name));

  // Functions whose new code the patch must carry, and why; folded
  // (inline-like) changes reach their callers.
  std::deque<std::string> changed;
  std::set<std::string> seen;
  std::map<std::string, std::string> becauseOfType; // function -> "struct T"
  for (const auto &[name, f] : newUnit.functions) {
    auto old = oldUnit.functions.find(name);
    if (old == oldUnit.functions.end()) {
      plan.added.insert(name);
      continue;
    }
    if (old->second.text == f.text) {
      auto uses = newUnit.typeUses.find(name);
      if (uses != newUnit.typeUses.end())
        for (const std::string &t : uses->second)
          if (changedTypes.count(t) && seen.insert(name).second) {
            changed.push_back(name);
            becauseOfType[name] = t;
          }
      continue;
    }
    if (old->second.proto != f.proto) {
      plan.added.insert(name);
      plan.warnings.push_back(fmt::format(
          "{}: warning: {}() has a new prototype ({} was {}): the patch adds it as a new "
          "function; code outside the patch keeps calling the old one",
          where(f.file, f.line, f.col), name, f.proto, old->second.proto));
      continue;
    }
    if (seen.insert(name).second)
      changed.push_back(name);
  }
  // Functions of the unit that free an object of a shadowed type (directly
  // or through inline helpers folded into them) join the patch: its copy of
  // them releases the object's shadow data.
  if (!plan.shadowUpdates.empty()) {
    std::set<std::string> shadowNames;
    for (const ShadowUpdate &su : plan.shadowUpdates)
      shadowNames.insert(su.name);
    std::map<std::string, bool> memo;
    std::function<bool(const std::string &, int)> frees = [&](const std::string &fn, int depth) {
      if (depth > 8)
        return false;
      if (auto it = newUnit.frees.find(fn); it != newUnit.frees.end())
        for (const std::string &t : it->second)
          if (shadowNames.count(t))
            return true;
      if (auto it = newUnit.calls.find(fn); it != newUnit.calls.end())
        for (const std::string &callee : it->second) {
          auto b = base.functions.find(callee);
          if (b != base.functions.end() && foldable(b->second) && frees(callee, depth + 1))
            return true;
        }
      return false;
    };
    for (const auto &[name, f] : newUnit.functions) {
      auto b = base.functions.find(name);
      if (b != base.functions.end() && b->second.empty() && !plan.added.count(name) &&
          frees(name, 0) && seen.insert(name).second)
        changed.push_back(name);
    }
  }
  while (!changed.empty()) {
    std::string name = changed.front();
    changed.pop_front();
    const UnitSnapshot::Function &f = newUnit.functions.at(name);
    auto b = base.functions.find(name);
    if (b == base.functions.end()) {
      plan.errors.push_back(fmt::format("{}: error: {}() is not in the running program's "
                                        "manifest for {}",
                                        where(f.file, f.line, f.col), name, base.tu));
      continue;
    }
    if (b->second.empty()) {
      plan.replaced.insert(name);
      continue;
    }
    if (foldable(b->second) && !f.external) {
      // Its old code is folded into its callers: they change with it.
      for (const auto &[caller, callees] : newUnit.calls)
        if (callees.count(name) && !plan.added.count(caller) && seen.insert(caller).second) {
          changed.push_back(caller);
          if (becauseOfType.count(name))
            becauseOfType[caller] = becauseOfType[name];
        }
      continue;
    }
    auto t = becauseOfType.find(name);
    if (t != becauseOfType.end()) {
      if (ranOnce(b->second))
        continue;
      plan.errors.push_back(fmt::format(
          "{}: error: {}() uses {} concretely, whose layout changes, but it is not updateable "
          "in the running program (reason: {}), so it would keep using the old layout",
          where(f.file, f.line, f.col), name, t->second, b->second));
      continue;
    }
    plan.errors.push_back(fmt::format("{}: error: {}() changed, but it is not updateable in the "
                                      "running program (reason: {})",
                                      where(f.file, f.line, f.col), name, b->second));
  }
  for (const auto &[name, f] : oldUnit.functions)
    if (!newUnit.functions.count(name)) {
      plan.deleted.insert(name);
      // Never silent: the running program keeps the code, and whoever still
      // calls it (unchanged code, other units) runs the old version.
      plan.warnings.push_back(fmt::format(
          "{}: warning: {}() is no longer defined in {}: a live patch cannot remove a "
          "function, so the running program keeps its old code for the callers it still has",
          where(f.file, f.line, f.col), name, base.tu));
      auto uses = oldUnit.typeUses.find(name);
      if (uses != oldUnit.typeUses.end())
        for (const std::string &t : uses->second)
          if (changedTypes.count(t))
            plan.errors.push_back(fmt::format(
                "{}: error: {}() is gone from the new version but uses {}, whose layout "
                "changes; callers elsewhere could still run it on the new layout",
                where(f.file, f.line, f.col), name, t));
    }

  for (const auto &[name, v] : newUnit.variables) {
    auto old = oldUnit.variables.find(name);
    if (old == oldUnit.variables.end()) {
      plan.addedVars.insert(name);
      continue;
    }
    if (old->second.type != v.type)
      plan.errors.push_back(fmt::format(
          "{}: error: variable '{}' changed type ({} was {}): a variable's storage cannot "
          "change size in place; wrap the data in a struct type (`include type`) instead",
          where(v.file, v.line, v.col), name, v.type, old->second.type));
    else if (old->second.init != v.init)
      plan.warnings.push_back(fmt::format(
          "{}: warning: the initializer of '{}' changed; the running program keeps the "
          "variable's current value",
          where(v.file, v.line, v.col), name));
  }
  (void)patchName;
  return plan;
}

namespace {

class PatchRewriter {
public:
  PatchRewriter(ASTContext &ctx, const TokenMap &map, const BaseUnit &base, const UnitPlan &plan,
                const PatchRewriteOptions &opts)
      : ctx_(ctx), sm_(ctx.getSourceManager()), lo_(ctx.getLangOpts()), map_(map), base_(base),
        plan_(plan), opts_(opts) {
    rw_.setSourceMgr(sm_, lo_);
    buffer_ = sm_.getBufferData(map_.file);
  }

  RewrittenUnit run();

private:
  SourceLocation edit(SourceLocation loc) const {
    return loc.isValid() ? map_.lookup(sm_, loc) : SourceLocation();
  }
  unsigned offset(SourceLocation editLoc) const { return sm_.getFileOffset(editLoc); }
  std::string where(SourceLocation loc) const {
    PresumedLoc p = sm_.getPresumedLoc(sm_.getExpansionLoc(loc));
    return p.isValid() ? fmt::format("{}:{}:{}", p.getFilename(), p.getLine(), p.getColumn())
                       : "<unknown>";
  }
  bool inSource(const Decl *d) const {
    std::string f = presumedFile(sm_, d->getLocation());
    return isSourceFile(f) || (!opts_.transformerFile.empty() && f == opts_.transformerFile);
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
  void replaceRef(DeclRefExpr *r, unsigned index) {
    SourceLocation at = edit(r->getLocation());
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
  void handleRef(DeclRefExpr *r, const FunctionDecl *in, bool inInitializer);
  // Static locals of a replaced function that the patch code has its own
  // copy of: constant data is no state (the new version's own copy, so a
  // changed table takes effect), and neither is a table of label addresses
  // that nothing writes (computed goto: the running table's entries point
  // into the old function's code; labelTables()).
  bool ownStaticLocal(const VarDecl *vd) const {
    return vd->getType().isConstant(ctx_) || labelTables_.count(vd);
  }
  // A static local of a replaced function the running program registered
  // is the running instance in the patch code, unless it is the patch's own.
  bool runningStaticLocal(const FunctionDecl *owner, const VarDecl *vd) const {
    return plan_.replaced.count(owner->getName().str()) && !ownStaticLocal(vd) &&
           base_.registeredVars.count(staticLocalName(owner, vd));
  }
  void labelTables(FunctionDecl *fd);
  void deletedCallers();
  // Whether a reference to a function is the callee of a call.
  bool isCallee(const DeclRefExpr *r) const {
    const Expr *cur = r;
    while (true) {
      auto parents = ctx_.getParents(*cur);
      const Expr *p = parents.size() == 1 ? parents[0].get<Expr>() : nullptr;
      if (p && (isa<ParenExpr>(p) || isa<ImplicitCastExpr>(p))) {
        cur = p;
        continue;
      }
      const auto *ce = dyn_cast_or_null<CallExpr>(p);
      return ce && ce->getCallee() == cur;
    }
  }
  void keepFunction(FunctionDecl *fd);
  void dropBody(FunctionDecl *fd);
  void renameReplaced(FunctionDecl *fd);
  void addedFunction(FunctionDecl *fd);
  void externalizeVar(VarDecl *vd);
  void wrapPatchTypes(RewrittenUnit &out);
  void shadowFields();
  bool fromTransformerFile(const Decl *d) const {
    return !opts_.transformerFile.empty() &&
           presumedFile(sm_, d->getLocation()) == opts_.transformerFile;
  }
  std::string prelude() const;

  ASTContext &ctx_;
  SourceManager &sm_;
  const LangOptions &lo_;
  const TokenMap &map_;
  const BaseUnit &base_;
  const UnitPlan &plan_;
  const PatchRewriteOptions &opts_;
  Rewriter rw_;
  llvm::StringRef buffer_;
  std::vector<PatchRef> refs_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::set<unsigned> edited_;
  std::set<unsigned> externed_;
  std::map<const FunctionDecl *, unsigned> addedPointerAt_; // offset after which calls use the pointer
  std::set<const Decl *> dropped_; // bodies and initializers the patch code leaves out
  std::set<const VarDecl *> labelTables_; // static locals holding label addresses
  std::vector<DeletedUse> deletedUses_;
  const VarDecl *initializing_ = nullptr; // the added variable whose initializer is handled
  std::string tail_;
};

std::string PatchRewriter::prelude() const {
  return fmt::format("# 1 \"<dsu-abi>\" 1\n{}\nstatic const char __dsu_tu_name[] "
                     "__attribute__((__unused__)) = \"{}\";\nvoid *__dsu_refs_{}[{}];\n",
                     abiHeaderText(), escapeC(base_.tu), plan_.index,
                     refs_.empty() ? 1 : refs_.size());
}

void PatchRewriter::handleRef(DeclRefExpr *r, const FunctionDecl *in, bool inInitializer) {
  ValueDecl *d = r->getDecl();
  const std::string name = d->getName().str();
  if (auto *fd = dyn_cast<FunctionDecl>(d)) {
    // Builtins, and compile-time assertions (error/warning attributes),
    // which only compile because the optimizer removes their calls.
    if (fd->getBuiltinID() || fd->hasAttr<ErrorAttr>())
      return;
    const FunctionDecl *def = fd->getDefinition();
    if (!def && plan_.deleted.count(name)) {
      const bool call = isCallee(r);
      std::string user = in ? in->getName().str() + "()" : "the patch code";
      if (initializing_)
        user = "the initializer of '" + initializing_->getName().str() + "'";
      deletedUses_.push_back(
          {name, fd->isExternallyVisible(),
           fmt::format("{}: error: {} {} {}(), which the new version deletes: the patch has no "
                       "code for it, so the patch code would {} the running program's old "
                       "{}(); keep {}(), or remove the {}",
                       where(r->getLocation()), user, call ? "calls" : "refers to", name,
                       call ? "call" : "use", name, name, call ? "call" : "reference")});
    }
    if (def && !inSource(def))
      return; // a header's inline function: the patch code has its own copy
    const bool definedHere = def && inSource(def);
    if (definedHere && plan_.added.count(name)) {
      // Calls after the pointer's declaration go through it, so that a
      // later patch can replace the function this one adds.
      auto it = addedPointerAt_.find(def);
      SourceLocation at = edit(r->getLocation());
      if (it != addedPointerAt_.end() && at.isValid() && offset(at) > it->second && !inInitializer) {
        if (edited_.insert(offset(at)).second)
          rw_.ReplaceText(at, name.size(), "__dsu_fp_" + name);
      }
      return;
    }
    if (definedHere && baseUpdateable(name)) {
      if (inInitializer) {
        errors_.push_back(fmt::format(
            "{}: error: the initializer of a variable the patch adds refers to {}(), which the "
            "patch reaches only at run time; refer to it from code instead",
            where(r->getLocation()), name));
        return;
      }
      replaceRef(r, slot(kRefFunc, base_.tu, name));
      return;
    }
    if (definedHere && !fd->isExternallyVisible())
      return; // a static helper the patch carries a copy of
    if (!definedHere && base_.patchGlobals.count(name)) {
      replaceRef(r, slot(kRefSymbol, "", name));
      return;
    }
    if (needsSymbolRef(name)) {
      if (inInitializer) {
        errors_.push_back(fmt::format("{}: error: the initializer of a variable the patch adds "
                                      "refers to {}, which the kernel does not export",
                                      where(r->getLocation()), name));
        return;
      }
      // The kernel's updateable functions are reached through the registry
      // by their unit; others by name.
      replaceRef(r, slot(kRefSymbol, "", name));
    }
    return;
  }
  auto *vd = dyn_cast<VarDecl>(d);
  if (!vd || (!vd->hasGlobalStorage() && !vd->isStaticLocal()))
    return;
  if (vd->isStaticLocal()) {
    const auto *owner = dyn_cast<FunctionDecl>(vd->getDeclContext());
    if (!owner || !plan_.replaced.count(owner->getName().str()))
      return; // a new function's own state
    if (ownStaticLocal(vd))
      return; // see runningStaticLocal
    std::string regName = staticLocalName(owner, vd);
    if (runningStaticLocal(owner, vd)) {
      if (inInitializer) {
        errors_.push_back(fmt::format("{}: error: the initializer of a static local the patch "
                                      "adds refers to static local '{}' of {}(), which the "
                                      "patch reaches only at run time",
                                      where(r->getLocation()), vd->getName().str(),
                                      owner->getName().str()));
        return;
      }
      replaceRef(r, slot(kRefVar, base_.tu, regName));
      return;
    }
    if (auto it = base_.unregisteredVars.find(regName); it != base_.unregisteredVars.end()) {
      errors_.push_back(fmt::format("{}: error: static local '{}' of {}() is not registered in "
                                    "the running program ({}), so the new version cannot reach "
                                    "its state",
                                    where(r->getLocation()), vd->getName().str(),
                                    owner->getName().str(), it->second));
      return;
    }
    return; // new in this version
  }
  const VarDecl *def = vd->getDefinition() ? vd->getDefinition() : vd->getActingDefinition();
  const bool definedHere = def && inSource(def);
  if (definedHere && plan_.addedVars.count(name))
    return;
  if (definedHere && !vd->isExternallyVisible()) {
    if (base_.registeredVars.count(name)) {
      if (inInitializer) {
        errors_.push_back(fmt::format("{}: error: the initializer of a variable the patch adds "
                                      "refers to '{}', which the patch reaches only at run time",
                                      where(r->getLocation()), name));
        return;
      }
      replaceRef(r, slot(kRefVar, base_.tu, name));
      return;
    }
    auto it = base_.unregisteredVars.find(name);
    errors_.push_back(fmt::format(
        "{}: error: static variable '{}' is not registered in the running program{}, so the "
        "patch cannot reach it",
        where(r->getLocation()), name,
        it == base_.unregisteredVars.end() ? "" : fmt::format(" ({})", it->second)));
    return;
  }
  if (!definedHere && vd->isExternallyVisible() && base_.patchGlobals.count(name) && !inInitializer) {
    replaceRef(r, slot(kRefSymbol, "", name));
    return;
  }
  if (vd->isExternallyVisible() && needsSymbolRef(name)) {
    if (inInitializer) {
      errors_.push_back(fmt::format("{}: error: the initializer of a variable the patch adds "
                                    "refers to '{}', which the kernel does not export",
                                    where(r->getLocation()), name));
      return;
    }
    replaceRef(r, slot(kRefSymbol, "", name));
  }
}

// A replaced function's static locals whose initializers take label
// addresses: the patch's own data (its entries must point into the new
// code). One that the function writes at run time has state a fresh copy
// would lose, and the running one jumps into the old code: refused.
void PatchRewriter::labelTables(FunctionDecl *fd) {
  StaticLocalCollector sc;
  sc.TraverseStmt(fd->getBody());
  for (VarDecl *vd : sc.vars) {
    if (vd->getType().isConstant(ctx_) || !labelAddressIn(vd->getInit()))
      continue;
    labelTables_.insert(vd);
    RefCollector rc;
    rc.TraverseStmt(fd->getBody());
    for (DeclRefExpr *r : rc.refs) {
      if (r->getDecl() != vd)
        continue;
      RuntimeWrite w = writeThrough(ctx_, r);
      if (!w.at)
        continue;
      errors_.push_back(fmt::format(
          "{}: error: static local '{}' of {}() holds label addresses (computed goto) and {} "
          "here: the running table points into the old code, and the patch's own copy would "
          "lose what the program wrote into it; only a table nothing writes can follow its "
          "labels (if nothing needs to write it, make it const)",
          where(r->getLocation()), vd->getName().str(), fd->getName().str(),
          w.assigned ? "is written" : "its address escapes"));
      break;
    }
  }
}

// Code the patch leaves to the running program (unchanged functions, the
// initializers of existing variables) that still uses a function the new
// version deletes: the running code keeps using the old one. A warning at
// each use (the new version would not link as a program either).
void PatchRewriter::deletedCallers() {
  if (plan_.deleted.empty())
    return;
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
    if (!dropped_.count(d) || !inSource(d))
      continue;
    RefCollector rc;
    rc.TraverseDecl(d);
    for (DeclRefExpr *r : rc.refs) {
      auto *fd = dyn_cast<FunctionDecl>(r->getDecl());
      if (!fd || fd->getDefinition() || !plan_.deleted.count(fd->getName().str()))
        continue;
      const std::string g = fd->getName().str();
      if (const auto *user = dyn_cast<FunctionDecl>(d))
        warnings_.push_back(fmt::format(
            "{}: warning: {}() still {} {}(), which the new version deletes; {}() is unchanged, "
            "so the running program's {}() keeps using the old {}()",
            where(r->getLocation()), user->getName().str(), isCallee(r) ? "calls" : "refers to",
            g, user->getName().str(), user->getName().str(), g));
      else
        warnings_.push_back(fmt::format(
            "{}: warning: the initializer of '{}' refers to {}(), which the new version "
            "deletes; the running program's '{}' keeps pointing at the old {}()",
            where(r->getLocation()), cast<NamedDecl>(d)->getName().str(), g,
            cast<NamedDecl>(d)->getName().str(), g));
    }
  }
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
  rw_.InsertTextAfterToken(after, fmt::format(" static __typeof__({0}) *__dsu_fp_{0} = {0};", name));
  addedPointerAt_[fd] = offset(after);
  tail_ += fmt::format("struct __dsu_func_desc __dsu_pdesc_{}_{} = {{ DSU_ABI_VERSION, 0, \"{}\", "
                       "__dsu_tu_name, (void **)&__dsu_fp_{}, (void *){}, (void *){}, \"{}\" }};\n",
                       plan_.index, name, name, name, name, name, escapeC(opts_.unitHash));
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
    unsigned endTok = offset(end) + Lexer::MeasureTokenLength(end, sm_, lo_);
    std::string keep;
    for (char ch : buffer_.slice(offset(equal), endTok))
      if (ch == '\n')
        keep += '\n';
    rw_.ReplaceText(equal, endTok - offset(equal), keep);
  }
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
      if (b.isValid() && e.isValid()) {
        unsigned endTok = offset(e) + Lexer::MeasureTokenLength(e, sm_, lo_);
        std::string keep;
        for (char ch : buffer_.slice(offset(b), endTok))
          if (ch == '\n')
            keep += '\n';
        rw_.ReplaceText(b, endTok - offset(b), keep);
      }
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
        if ((f && !f->getDefinition() && !f->getBuiltinID() && !f->hasAttr<ErrorAttr>() &&
             needsSymbolRef(f->getName().str())) ||
            (v && v->hasGlobalStorage() && v->isExternallyVisible() &&
             needsSymbolRef(v->getName().str())))
          replaceRef(r, slot(kRefSymbol, "", d->getName().str()));
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
                           name, escapeC(opts_.unitHash));
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

} // namespace

// The patch code sees the running program's wrapped types as their wrappers
// (same size and layout as the instances), compiled for the version this
// patch brings; changed ones get the previous representation and the
// transformer between the two.
void PatchRewriter::wrapPatchTypes(RewrittenUnit &out) {
  std::map<std::string, const TypeUpdate *> updates;
  for (const TypeUpdate &u : plan_.typeUpdates)
    updates[u.name] = &u;
  std::map<std::string, PatchTypeWrap> wraps;
  for (const auto &[name, w] : base_.wrapped) {
    PatchTypeWrap p;
    auto up = updates.find(name);
    p.version = up != updates.end() ? up->second->to : w.version;
    p.unionSize = w.unionSize;
    p.descExpr = fmt::format("((struct __dsu_type_desc *)__dsu_refs_{}[{}])", plan_.index,
                             slot(kRefType, base_.tu, name));
    if (up != updates.end())
      p.after = fmt::format(" {}; void __dsu_p{}_xform_{}(void *, const void *);",
                            up->second->oldDefinition, plan_.index, w.tag);
    wraps[w.tag] = p;
  }
  RewriteOptions ro;
  ro.kernel = opts_.kernel;
  ro.tuName = base_.tu; // the instances' tag is the running unit's
  std::vector<TypeRecord> records;
  bool any = false;
  wrapTypes(TypeWrapInput{ctx_, rw_, [this](SourceLocation l) { return edit(l); }, ro, &wraps,
                          [this](const Decl *d) { return dropped_.count(d) > 0; }},
            records, any);
  for (const TypeRecord &r : records) {
    if (!base_.wrapped.count(r.name) || r.updateable)
      continue;
    errors_.push_back(fmt::format("{}:{}:1: error: the running program wraps {}, but the patch "
                                  "code cannot: {}{}",
                                  r.file, r.line, r.name, reasonText(r.reason),
                                  r.detail.empty() ? "" : " (" + r.detail + ")"));
  }
  for (const TypeUpdate &u : plan_.typeUpdates) {
    std::string body = fmt::format(
        "void __dsu_p{0}_xform_{1}(void *__dsu_to, const void *__dsu_from) {{ struct "
        "__dsu_rep_{1}_{2} *to = __dsu_to; const struct __dsu_rep_{1}_{3} *from = __dsu_from;",
        plan_.index, u.tag, u.to, u.from);
    for (const TypeUpdate::Copy &c : u.copied)
      body += c.bitField ? fmt::format(" to->{0} = from->{0};", c.field)
                         : fmt::format(" __builtin_memcpy(&to->{0}, &from->{0}, sizeof(to->{0}));",
                                       c.field);
    for (const auto &[field, value] : u.added)
      if (!value.empty())
        body += fmt::format(" to->{} = ({});", field, value);
    if (u.userTransformer)
      body += fmt::format(" dsu_transform_{}(to, from);", u.tag);
    body += " (void)to; (void)from; }\n";
    tail_ += body;
    out.types.push_back({u.name, u.to, u.newSize, fmt::format("__dsu_p{}_xform_{}", plan_.index, u.tag)});
  }
}

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

RewrittenUnit rewritePatchUnit(ASTContext &ctx, const TokenMap &map, const BaseUnit &base,
                               const UnitPlan &plan, const PatchRewriteOptions &opts) {
  PatchRewriter r(ctx, map, base, plan, opts);
  return r.run();
}

} // namespace dsu

namespace dsu {

std::string shadowOnlyHeaderChange(const std::string &oldText, const std::string &newText,
                                   const std::set<std::string> &shadowed) {
  auto lines = [](const std::string &t) {
    std::vector<std::string> v;
    std::string cur;
    for (char c : t) {
      if (c == '\n') {
        v.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty())
      v.push_back(cur);
    return v;
  };
  std::vector<std::string> o = lines(oldText), n = lines(newText);
  // Old lines must appear in order in the new text; what is left was added.
  size_t i = 0;
  std::vector<bool> added(n.size(), false);
  for (size_t j = 0; j < n.size(); ++j) {
    if (i < o.size() && n[j] == o[i])
      ++i;
    else
      added[j] = true;
  }
  if (i != o.size())
    return fmt::format("{}: a line was removed or changed (only added fields of shadowed "
                       "structs can be carried)", i + 1);
  // Which struct body each new line is in (by brace depth from `struct T {`).
  std::string in;
  int depth = 0;
  static const std::regex open(R"(^\s*struct\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{)");
  for (size_t j = 0; j < n.size(); ++j) {
    std::smatch m;
    if (in.empty() && std::regex_search(n[j], m, open)) {
      in = m[1].str();
      depth = 0;
    }
    bool inside = !in.empty() && depth > 0;
    for (char c : n[j]) {
      if (c == '{')
        ++depth;
      else if (c == '}')
        --depth;
    }
    if (added[j]) {
      // Without comments (one-line ones; a comment block is all comment).
      std::string code = n[j];
      for (size_t c; (c = code.find("/*")) != std::string::npos;) {
        size_t e = code.find("*/", c + 2);
        code.erase(c, e == std::string::npos ? std::string::npos : e + 2 - c);
      }
      if (size_t c = code.find("//"); c != std::string::npos)
        code.erase(c);
      llvm::StringRef line = llvm::StringRef(code).trim();
      if (line.empty() || line.starts_with("*"))
        continue;
      if (!inside || !shadowed.count(in))
        return fmt::format("{}: an added line outside the body of a shadowed struct", j + 1);
      if (!line.ends_with(";") || line.contains('{') || line.starts_with("#"))
        return fmt::format("{}: an added line that is not a field declaration", j + 1);
    }
    if (!in.empty() && depth <= 0 && n[j].find('}') != std::string::npos)
      in.clear();
  }
  return "";
}

} // namespace dsu
