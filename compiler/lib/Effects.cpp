#include "Effects.h"

#include "ASTUtils.h"
#include "Hashing.h"
#include "SourceUtils.h"
#include "StaticRegistry.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Analysis/CFG.h>
#include <clang/Basic/SourceManager.h>

#include <llvm/Support/Path.h>

#include <cstring>
#include <set>

#include <fmt/format.h>

using namespace clang;

namespace dsu {
namespace {

// "struct T" when `rd` is a named struct defined in the unit's .c source:
// the only types dsu-cc wraps, hence the only ones a patch can change.
std::string localStructName(const SourceManager &sm, const RecordDecl *rd) {
  if (!rd || !rd->isStruct() || rd->getName().empty())
    return "";
  const RecordDecl *def = rd->getDefinition();
  if (!def)
    return "";
  if (!inCSourceFile(sm, def->getLocation()))
    return "";
  return "struct " + def->getName().str();
}

const RecordDecl *recordOf(QualType t) {
  if (const auto *rt = t->getAsStructureType())
    return rt->getDecl();
  return nullptr;
}

// "struct S::f" for a member expression naming a function-pointer field
// (through READ_ONCE/WRITE_ONCE's `*(volatile T *)&x->f` too), else "".
const MemberExpr *functionPointerMember(const Expr *e) {
  e = e->IgnoreParenCasts();
  if (const auto *deref = dyn_cast<UnaryOperator>(e); deref && deref->getOpcode() == UO_Deref)
    if (const auto *addr = dyn_cast<UnaryOperator>(deref->getSubExpr()->IgnoreParenCasts());
        addr && addr->getOpcode() == UO_AddrOf)
      e = addr->getSubExpr()->IgnoreParenCasts();
  const auto *me = dyn_cast<MemberExpr>(e);
  if (!me)
    return nullptr;
  const auto *field = dyn_cast<FieldDecl>(me->getMemberDecl());
  if (!field || !field->getType()->isFunctionPointerType())
    return nullptr;
  return me;
}

std::string fieldKey(const FieldDecl *field) {
  const RecordDecl *rd = field->getParent();
  std::string tag = rd->getName().str();
  if (tag.empty())
    if (const TypedefNameDecl *td = rd->getTypedefNameForAnonDecl())
      tag = td->getName().str();
  if (tag.empty() || field->getName().empty())
    return "";
  return fmt::format("{} {}::{}", rd->isUnion() ? "union" : "struct", tag, field->getName().str());
}

bool isTransactionAttribute(const FunctionDecl *fd) {
  for (const auto *a : fd->specific_attrs<AnnotateAttr>())
    if (a->getAnnotation() == "dsu_transaction")
      return true;
  return false;
}

// Classifies single statements (CFG elements, or every statement of a body
// when there is no CFG) into events.
class EventMaker {
public:
  EventMaker(ASTContext &ctx, const FunctionDecl *fd) : ctx_(ctx), sm_(ctx.getSourceManager()), fd_(fd) {}

  void add(const Stmt *s, unsigned block, std::vector<EffectEvent> &out) {
    auto push = [&](const char *kind, std::string name, std::vector<std::string> during = {}) {
      if (name.empty())
        return;
      // Consecutive repeats of a type or global use in one block add nothing
      // to prior or future. Calls stay: a kernel frame can be at either
      // call, and one's prior/future holds the other.
      if (strcmp(kind, "call") && strcmp(kind, "icall") && !out.empty() &&
          out.back().block == block && out.back().kind == kind &&
          out.back().name == name && during.empty() && out.back().during.empty())
        return;
      EffectEvent e;
      e.kind = kind;
      e.name = std::move(name);
      e.block = block;
      e.line = line(s->getBeginLoc());
      e.during = std::move(during);
      out.push_back(std::move(e));
    };
    if (const auto *ce = dyn_cast<CallExpr>(s)) {
      std::vector<std::string> during = addressArguments(ce);
      if (const FunctionDecl *callee = ce->getDirectCallee()) {
        if (callee->getBuiltinID())
          return;
        if (callee->getName() == "dsu_update_point") {
          PresumedLoc p = presumedLoc(sm_, ce->getBeginLoc());
          // The base name, as __FILE_NAME__ in dsu_update() gives it.
          if (p.isValid())
            push("point", llvm::sys::path::filename(p.getFilename()).str() + ":" +
                              std::to_string(p.getLine()));
          return;
        }
        push("call", callee->getName().str(), std::move(during));
      } else {
        QualType t = ce->getCallee()->getType();
        if (const auto *pt = t->getAs<PointerType>())
          t = pt->getPointeeType();
        // Through a struct field: the analysis narrows the targets to the
        // functions stored into that field ("sig@struct S::f").
        std::string key;
        if (const MemberExpr *me = functionPointerMember(ce->getCallee()))
          key = fieldKey(cast<FieldDecl>(me->getMemberDecl()));
        push("icall", key.empty() ? signatureHash(t) : signatureHash(t) + "@" + key,
             std::move(during));
      }
    } else if (const auto *me = dyn_cast<MemberExpr>(s)) {
      if (const auto *field = dyn_cast<FieldDecl>(me->getMemberDecl()))
        push("type", localStructName(sm_, field->getParent()));
    } else if (const auto *il = dyn_cast<InitListExpr>(s)) {
      push("type", localStructName(sm_, recordOf(il->getType())));
    } else if (const auto *oe = dyn_cast<OffsetOfExpr>(s)) {
      push("type", localStructName(sm_, recordOf(oe->getTypeSourceInfo()->getType())));
    } else if (const auto *dre = dyn_cast<DeclRefExpr>(s)) {
      if (const auto *vd = dyn_cast<VarDecl>(dre->getDecl()); vd && vd->hasGlobalStorage()) {
        if (vd->isStaticLocal())
          push("global", staticLocalName(fd_, vd));
        else
          push("global", vd->getName().str());
      }
    } else if (const auto *ds = dyn_cast<DeclStmt>(s)) {
      for (const Decl *d : ds->decls())
        if (const auto *vd = dyn_cast<VarDecl>(d); vd && vd->hasInit() && !vd->hasGlobalStorage())
          push("type", localStructName(sm_, recordOf(vd->getType())));
    }
  }

private:
  unsigned line(SourceLocation loc) const {
    return presumedLine(sm_, loc);
  }
  // `f(&t.x)`: while f runs it works on t's representation.
  std::vector<std::string> addressArguments(const CallExpr *ce) const {
    std::set<std::string> types;
    for (const Expr *arg : ce->arguments()) {
      const auto *uo = dyn_cast<UnaryOperator>(arg->IgnoreParenImpCasts());
      if (!uo || uo->getOpcode() != UO_AddrOf)
        continue;
      forEachMemberOnPath(uo->getSubExpr(), [&](const MemberExpr *me) {
        if (const auto *field = dyn_cast<FieldDecl>(me->getMemberDecl())) {
          std::string n = localStructName(sm_, field->getParent());
          if (!n.empty())
            types.insert(n);
        }
      });
    }
    return {types.begin(), types.end()};
  }

  ASTContext &ctx_;
  const SourceManager &sm_;
  const FunctionDecl *fd_;
};

// Every statement of a body, for the no-CFG fallback.
class AllStatements : public RecursiveASTVisitor<AllStatements> {
public:
  std::vector<const Stmt *> stmts;
  bool VisitStmt(Stmt *s) {
    stmts.push_back(s);
    return true;
  }
};

// Callee expressions of direct calls (DeclRefExprs that are not an address
// being taken).
class AddressScanner : public RecursiveASTVisitor<AddressScanner> {
public:
  std::set<const DeclRefExpr *> callees;
  std::vector<const DeclRefExpr *> refs;
  // Function-pointer fields: the functions stored into them by name, and
  // the fields that get anything else (a variable, a parameter, a pointer
  // to the field handed elsewhere): those stay open.
  std::set<std::pair<std::string, std::string>> stores;
  std::set<std::string> open;
  std::set<const MemberExpr *> addressed, accessed;

  bool VisitCallExpr(CallExpr *ce) {
    if (const auto *dre = dyn_cast<DeclRefExpr>(ce->getCallee()->IgnoreParenImpCasts()))
      callees.insert(dre);
    return true;
  }
  bool VisitDeclRefExpr(DeclRefExpr *dre) {
    if (isa<FunctionDecl>(dre->getDecl()))
      refs.push_back(dre);
    return true;
  }
  bool VisitInitListExpr(InitListExpr *ile) {
    // The visitor may show either form; fields are matched in the semantic one.
    if (!ile->isSemanticForm() && ile->getSemanticForm())
      ile = ile->getSemanticForm();
    if (!initLists_.insert(ile).second)
      return true;
    const RecordDecl *rd = recordOfInit(ile->getType());
    if (!rd)
      return true;
    if (rd->isUnion()) {
      if (const FieldDecl *f = ile->getInitializedFieldInUnion(); f && ile->getNumInits() == 1)
        store(f, ile->getInit(0));
      return true;
    }
    unsigned i = 0;
    for (const FieldDecl *f : rd->fields()) {
      if (i >= ile->getNumInits())
        break;
      store(f, ile->getInit(i++));
    }
    return true;
  }
  bool VisitBinaryOperator(BinaryOperator *bo) {
    if (bo->isAssignmentOp())
      if (const MemberExpr *me = functionPointerMember(bo->getLHS())) {
        accessed.insert(me);
        store(cast<FieldDecl>(me->getMemberDecl()), bo->getRHS());
      }
    return true;
  }
  bool VisitUnaryOperator(UnaryOperator *uo) {
    const Expr *sub = uo->getSubExpr()->IgnoreParenCasts();
    if (uo->getOpcode() == UO_AddrOf) {
      if (const auto *me = dyn_cast<MemberExpr>(sub))
        if (const auto *f = dyn_cast<FieldDecl>(me->getMemberDecl());
            f && f->getType()->isFunctionPointerType())
          addressed.insert(me);
    } else if (uo->getOpcode() == UO_Deref) {
      // *(T *)&x->f: READ_ONCE/WRITE_ONCE, a plain access.
      if (const MemberExpr *me = functionPointerMember(uo))
        accessed.insert(me);
    }
    return true;
  }
  void finish() {
    for (const MemberExpr *me : addressed)
      if (!accessed.count(me))
        open.insert(fieldKey(cast<FieldDecl>(me->getMemberDecl())));
    open.erase("");
  }

private:
  std::set<const InitListExpr *> initLists_;
  static const RecordDecl *recordOfInit(QualType t) {
    if (const auto *rt = t->getAs<RecordType>())
      return rt->getDecl()->getDefinition();
    return nullptr;
  }
  void store(const FieldDecl *f, const Expr *value) {
    if (!f->getType()->isFunctionPointerType() || !value)
      return;
    std::string key = fieldKey(f);
    if (key.empty())
      return;
    const Expr *v = value->IgnoreParenCasts();
    if (const auto *addr = dyn_cast<UnaryOperator>(v); addr && addr->getOpcode() == UO_AddrOf)
      v = addr->getSubExpr()->IgnoreParenCasts();
    if (const auto *dre = dyn_cast<DeclRefExpr>(v))
      if (const auto *fd = dyn_cast<FunctionDecl>(dre->getDecl())) {
        stores.insert({key, fd->getName().str()});
        return;
      }
    if (isa<ImplicitValueInitExpr>(v) ||
        v->isNullPointerConstant(f->getASTContext(), Expr::NPC_ValueDependentIsNull))
      return;
    open.insert(key);
  }
};

} // namespace

std::string signatureHash(QualType fnType) {
  return sha256Hex(fnType.getCanonicalType().getUnqualifiedType().getAsString(), 8);
}

FunctionEffects functionEffects(ASTContext &ctx, const FunctionDecl *fd, bool kernel) {
  FunctionEffects fx;
  fx.signature = signatureHash(fd->getType());
  llvm::StringRef name = fd->getName();
  if (isTransactionAttribute(fd))
    fx.transaction = "attribute";
  else if (kernel && (name.starts_with("__x64_sys_") || name.starts_with("__ia32_sys_") ||
                      name.starts_with("__se_sys_") || name.starts_with("__do_sys_")))
    fx.transaction = "syscall";
  else if (kernel && fd->getReturnType().getAsString() == "irqreturn_t")
    fx.transaction = "irq";

  Stmt *body = fd->getBody();
  if (!body)
    return fx;
  EventMaker maker(ctx, fd);
  CFG::BuildOptions opts;
  opts.setAllAlwaysAdd();
  opts.AddImplicitDtors = false;
  opts.AddTemporaryDtors = false;
  std::unique_ptr<CFG> cfg = CFG::buildCFG(fd, body, &ctx, opts);
  if (!cfg) {
    fx.cfg = false;
    fx.succ = {{0}};
    AllStatements all;
    all.TraverseStmt(body);
    for (const Stmt *s : all.stmts)
      maker.add(s, 0, fx.events);
    return fx;
  }
  fx.entry = cfg->getEntry().getBlockID();
  fx.exit = cfg->getExit().getBlockID();
  fx.succ.resize(cfg->getNumBlockIDs());
  for (const CFGBlock *b : *cfg) {
    unsigned id = b->getBlockID();
    for (const CFGBlock::AdjacentBlock &s : b->succs())
      if (const CFGBlock *sb = s.getReachableBlock())
        fx.succ[id].push_back(sb->getBlockID());
  }
  // Blocks in id order, elements in evaluation order.
  std::vector<const CFGBlock *> byId(cfg->getNumBlockIDs(), nullptr);
  for (const CFGBlock *b : *cfg)
    byId[b->getBlockID()] = b;
  for (const CFGBlock *b : byId) {
    if (!b)
      continue;
    for (const CFGElement &e : *b)
      if (std::optional<CFGStmt> cs = e.getAs<CFGStmt>())
        maker.add(cs->getStmt(), b->getBlockID(), fx.events);
  }
  return fx;
}

std::vector<AddressTaken> addressTakenFunctions(ASTContext &ctx, FieldStores &fields) {
  AddressScanner scan;
  scan.TraverseDecl(ctx.getTranslationUnitDecl());
  scan.finish();
  fields.stores.assign(scan.stores.begin(), scan.stores.end());
  fields.open.assign(scan.open.begin(), scan.open.end());
  std::set<std::string> seen;
  std::vector<AddressTaken> out;
  for (const DeclRefExpr *dre : scan.refs) {
    if (scan.callees.count(dre))
      continue;
    const auto *fd = cast<FunctionDecl>(dre->getDecl());
    if (fd->getBuiltinID() || !seen.insert(fd->getName().str()).second)
      continue;
    out.push_back({fd->getName().str(), signatureHash(fd->getType()), fd->isExternallyVisible()});
  }
  return out;
}

} // namespace dsu
