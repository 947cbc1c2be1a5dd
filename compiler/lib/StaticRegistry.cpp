#include "StaticRegistry.h"

#include "CLiterals.h"
#include "RewriteRecords.h"
#include "SourceUtils.h"

#include "dsu/abi.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/Decl.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include <fmt/format.h>

#include <map>
#include <set>

using namespace clang;

namespace dsu {

namespace {

// A static only unemitted code refers to (NotEmitted.h): registered, the
// descriptor would keep it, and what its initializer refers to.
constexpr const char *kNotEmittedWhy =
    "the plain compile emits no code that refers to it in this configuration";

// Whether an initializer refers to a function or variable this unit only
// declares: such a static is kept only while the optimizer can drop it, so
// taking its address for a descriptor could turn into a link error.
bool refersToDeclaredOnly(const Stmt *s, std::string &what) {
  if (!s)
    return false;
  if (const auto *ref = dyn_cast<DeclRefExpr>(s)) {
    const ValueDecl *d = ref->getDecl();
    if (const auto *f = dyn_cast<FunctionDecl>(d)) {
      if (!f->isDefined() && !f->getBuiltinID()) {
        what = f->getName().str();
        return true;
      }
    } else if (const auto *v = dyn_cast<VarDecl>(d)) {
      if (v->hasExternalStorage() && !v->getDefinition() && v->isFileVarDecl()) {
        what = v->getName().str();
        return true;
      }
    }
  }
  for (const Stmt *child : s->children())
    if (refersToDeclaredOnly(child, what))
      return true;
  return false;
}

// Static locals of a body, in source order, with the compound statement
// holding their declaration statement (null when it is not directly in one).
class StaticLocalScanner : public RecursiveASTVisitor<StaticLocalScanner> {
public:
  bool VisitCompoundStmt(CompoundStmt *cs) {
    for (Stmt *child : cs->body())
      if (auto *ds = dyn_cast<DeclStmt>(child))
        for (Decl *d : ds->decls())
          if (auto *vd = dyn_cast<VarDecl>(d); vd && vd->isStaticLocal())
            direct_[vd] = ds;
    return true;
  }
  bool VisitVarDecl(VarDecl *vd) {
    if (vd->isStaticLocal())
      order_.push_back(vd);
    return true;
  }

  struct Local {
    const VarDecl *var;
    const DeclStmt *stmt; // null when not a direct child of a compound statement
    std::string name;     // its registry name (staticLocalName)
  };
  // The static locals of `fn`'s body, in source order.
  static std::vector<Local> of(const FunctionDecl *fn) {
    StaticLocalScanner scan;
    scan.TraverseStmt(fn->getBody());
    std::vector<Local> locals;
    std::map<std::string, unsigned> seen;
    for (const VarDecl *vd : scan.order_) {
      auto it = scan.direct_.find(vd);
      std::string name = fmt::format("{}.{}", fn->getName().str(), vd->getName().str());
      if (unsigned n = ++seen[vd->getName().str()]; n > 1)
        name += fmt::format("#{}", n);
      locals.push_back({vd, it == scan.direct_.end() ? nullptr : it->second, std::move(name)});
    }
    return locals;
  }

private:
  std::map<const VarDecl *, const DeclStmt *> direct_;
  std::vector<const VarDecl *> order_;
};

// A section of ordinary data.
bool plainDataSection(llvm::StringRef name) {
  return name.starts_with(".data") || name.starts_with(".bss") || name.starts_with(".rodata");
}

// A section whose data is per CPU, or goes away (init, exit, discarded).
// .data..ro_after_init is ordinary data that becomes read-only after boot:
// the state a patch reads.
bool perCpuOrTransientSection(llvm::StringRef name) {
  return name.contains("percpu") || (name.contains("init") && name != ".data..ro_after_init") ||
         name.contains("exit") || name.contains("discard");
}

} // namespace

bool inLinkerTable(const VarDecl *vd) {
  const auto *s = vd->getAttr<SectionAttr>();
  return s && !plainDataSection(s->getName()) && !perCpuOrTransientSection(s->getName());
}

bool registrableStatic(const VarDecl *vd, std::string &why) {
  if (vd->getTLSKind() != VarDecl::TLS_None) {
    why = "thread-local";
    return false;
  }
  if (const auto *s = vd->getAttr<SectionAttr>()) {
    llvm::StringRef name = s->getName();
    if (!plainDataSection(name) || perCpuOrTransientSection(name)) {
      why = fmt::format("in section {}", name.str());
      return false;
    }
  }
  if (vd->getType()->isVariablyModifiedType()) {
    why = "variably modified type";
    return false;
  }
  if (const VarDecl *def = vd->getDefinition())
    vd = def;
  std::string what;
  if (refersToDeclaredOnly(vd->getInit(), what)) {
    why = fmt::format("its initializer refers to {}, which this unit only declares", what);
    return false;
  }
  return true;
}

std::string staticLocalName(const FunctionDecl *fn, const VarDecl *vd) {
  std::vector<StaticLocalScanner::Local> locals = StaticLocalScanner::of(fn);
  unsigned same = 0;
  for (StaticLocalScanner::Local &l : locals) {
    if (l.var == vd)
      return std::move(l.name);
    same += l.var->getName() == vd->getName();
  }
  // Not a static local of fn: named as if it were the last one.
  std::string name = fmt::format("{}.{}", fn->getName().str(), vd->getName().str());
  if (same > 1)
    name += fmt::format("#{}", same);
  return name;
}

StaticRegistry::StaticRegistry(ASTContext &ctx, const RewriteOptions &opts, const EditText &text)
    : ctx_(ctx), opts_(opts), text_(text) {}

StaticRegistry::~StaticRegistry() = default;

std::vector<VariableRecord> StaticRegistry::takeRecords() { return std::move(records_); }

std::string StaticRegistry::descriptor(const VarDecl *vd, const std::string &cname,
                                       const std::string &regName, bool local) const {
  unsigned flags =
      (local ? DSU_VAR_LOCAL : 0u) | (vd->getType().isConstQualified() ? DSU_VAR_CONST : 0u);
  std::string section = opts_.kernel ? "" : ", __section__(\"" DSU_VAR_SECTION "\")";
  return fmt::format(" static struct __dsu_var_desc {} __attribute__((__used__, __aligned__(8){})) "
                     "= {{ DSU_ABI_VERSION, {}u, \"{}\", __dsu_tu_name, (void *)&{}, "
                     "sizeof({}), __dsu_unit_hash }};",
                     cname, section, flags, escapeCString(regName), vd->getName().str(),
                     vd->getName().str());
}

void StaticRegistry::registerLocals(const FunctionDecl *fn) {
  const SourceManager &sm = ctx_.getSourceManager();
  unsigned index = 0;
  for (StaticLocalScanner::Local &l : StaticLocalScanner::of(fn)) {
    const VarDecl *vd = l.var;
    VariableRecord r;
    r.name = std::move(l.name);
    r.function = fn->getName().str();
    r.file = presumedFile(sm, vd->getLocation());
    r.line = presumedLine(sm, vd->getLocation());
    r.isConst = vd->getType().isConstQualified();
    r.type = vd->getType().getCanonicalType().getAsString();
    SourceLocation end = l.stmt ? text_.edit(l.stmt->getEndLoc()) : SourceLocation();
    if (!l.stmt)
      r.why = "not declared directly in a block";
    else if (end.isInvalid())
      r.why = "its declaration is not in editable text";
    else if (opts_.notEmittedStatics.count(r.name))
      r.why = kNotEmittedWhy;
    else if (registrableStatic(vd, r.why)) {
      r.registered = true;
      text_.rw.InsertTextAfterToken(
          end, descriptor(vd, fmt::format(DSU_VDESC_PREFIX "{}_{}", vd->getName().str(), ++index),
                          r.name, true));
    }
    records_.push_back(std::move(r));
  }
}

void StaticRegistry::registerFileStatics() {
  const SourceManager &sm = ctx_.getSourceManager();
  std::string text;
  std::set<const VarDecl *> done;
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
    auto *vd = dyn_cast<VarDecl>(d);
    if (!vd || vd->getStorageClass() != SC_Static || !vd->isFileVarDecl())
      continue;
    if (!done.insert(vd->getCanonicalDecl()).second)
      continue;
    const VarDecl *def = vd->getDefinition() ? vd->getDefinition() : vd->getActingDefinition();
    if (!def)
      continue;
    std::string file = presumedFile(sm, def->getLocation());
    if (!isCSourceFile(file))
      continue;
    // Unreferenced statics are not state anyone could need (and taking
    // their address would keep them alive).
    if (!vd->isReferenced() && !vd->isUsed())
      continue;
    VariableRecord r;
    r.name = vd->getName().str();
    r.file = file;
    r.line = presumedLine(sm, def->getLocation());
    r.isConst = vd->getType().isConstQualified();
    r.type = def->getType().getCanonicalType().getAsString();
    if (opts_.fileExcluded)
      r.why = "the file is not instrumented";
    else if (opts_.notEmittedStatics.count(r.name))
      r.why = kNotEmittedWhy;
    else if (registrableStatic(def, r.why)) {
      r.registered = true;
      text += descriptor(def, DSU_VDESC_PREFIX + r.name, r.name, false);
    }
    records_.push_back(std::move(r));
  }
  if (text.empty() || opts_.fileExcluded)
    return;
  // On a line of its own after the unit's last line (which may end in a
  // comment or be a directive): nothing before it moves.
  unsigned at = text_.buffer.size();
  if (at > 0 && text_.buffer[at - 1] != '\n')
    text = "\n" + text;
  text_.rw.InsertTextAfter(sm.getComposedLoc(text_.file, at), text + "\n");
}

} // namespace dsu
