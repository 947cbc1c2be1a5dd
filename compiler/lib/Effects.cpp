#include "Effects.h"

#include "Indirection.h"
#include "TypeWrapping.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Analysis/CFG.h>
#include <clang/Basic/SourceManager.h>

#include <llvm/Support/Path.h>

#include <cstring>
#include <set>

using namespace clang;

namespace dsu {
namespace {

bool isSourceFileName(llvm::StringRef file) {
  return file.ends_with(".c") || file.ends_with(".i");
}

// "struct T" when `rd` is a named struct defined in the unit's .c source:
// the only types dsu-cc wraps, hence the only ones a patch can change.
std::string localStructName(const SourceManager &sm, const RecordDecl *rd) {
  if (!rd || !rd->isStruct() || rd->getName().empty())
    return "";
  const RecordDecl *def = rd->getDefinition();
  if (!def)
    return "";
  PresumedLoc p = sm.getPresumedLoc(sm.getExpansionLoc(def->getLocation()));
  if (!p.isValid() || !isSourceFileName(p.getFilename()))
    return "";
  return "struct " + def->getName().str();
}

const RecordDecl *recordOf(QualType t) {
  if (const auto *rt = t->getAsStructureType())
    return rt->getDecl();
  return nullptr;
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
          PresumedLoc p = sm_.getPresumedLoc(sm_.getExpansionLoc(ce->getBeginLoc()));
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
        push("icall", signatureHash(t), std::move(during));
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
    PresumedLoc p = sm_.getPresumedLoc(sm_.getExpansionLoc(loc));
    return p.isValid() ? p.getLine() : 0;
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

std::vector<AddressTaken> addressTakenFunctions(ASTContext &ctx) {
  AddressScanner scan;
  scan.TraverseDecl(ctx.getTranslationUnitDecl());
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
