#include "NotEmitted.h"

#include "dsu/abi.h"

#include <llvm/ADT/StringRef.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/Module.h>

#include <vector>

using namespace llvm;

namespace dsu {

namespace {

bool isDsuValue(const GlobalValue &g) { return g.getName().starts_with("__dsu_"); }

// The global values a constant refers to, through constant expressions and
// aggregates.
void globalsIn(const Constant *c, std::vector<const GlobalValue *> &out,
               std::set<const Constant *> &seen) {
  if (!seen.insert(c).second)
    return;
  if (const auto *g = dyn_cast<GlobalValue>(c)) {
    out.push_back(g);
    return;
  }
  if (const auto *ba = dyn_cast<BlockAddress>(c)) {
    out.push_back(ba->getFunction());
    return;
  }
  for (const Use &op : c->operands())
    if (const auto *oc = dyn_cast<Constant>(op.get()))
      globalsIn(oc, out, seen);
}

// The values of llvm.used and llvm.compiler.used.
std::set<const GlobalValue *> usedValues(const Module &m) {
  std::set<const GlobalValue *> used;
  for (const char *name : {"llvm.used", "llvm.compiler.used"})
    if (const GlobalVariable *gv = m.getGlobalVariable(name, true); gv && gv->hasInitializer()) {
      std::vector<const GlobalValue *> vals;
      std::set<const Constant *> seen;
      globalsIn(gv->getInitializer(), vals, seen);
      used.insert(vals.begin(), vals.end());
    }
  return used;
}

// Everything the unit's own code reaches from what the object must keep.
std::set<const GlobalValue *> reachable(const Module &m) {
  const std::set<const GlobalValue *> used = usedValues(m);
  std::vector<const GlobalValue *> todo;
  for (const GlobalValue &g : m.global_values()) {
    if (g.isDeclaration() || isDsuValue(g) || g.getName().starts_with("llvm."))
      continue;
    if (!g.hasLocalLinkage() || used.count(&g))
      todo.push_back(&g);
  }
  std::set<const GlobalValue *> seen;
  std::set<const Constant *> constants;
  while (!todo.empty()) {
    const GlobalValue *g = todo.back();
    todo.pop_back();
    if (!seen.insert(g).second)
      continue;
    if (const auto *f = dyn_cast<Function>(g)) {
      for (const BasicBlock &bb : *f)
        for (const Instruction &i : bb)
          for (const Use &op : i.operands())
            if (const auto *c = dyn_cast<Constant>(op.get()))
              globalsIn(c, todo, constants);
      if (f->hasPersonalityFn())
        globalsIn(f->getPersonalityFn(), todo, constants);
    } else if (const auto *v = dyn_cast<GlobalVariable>(g)) {
      if (v->hasInitializer())
        globalsIn(v->getInitializer(), todo, constants);
    } else if (const auto *a = dyn_cast<GlobalAlias>(g)) {
      globalsIn(a->getAliasee(), todo, constants);
    } else if (const auto *fi = dyn_cast<GlobalIFunc>(g)) {
      globalsIn(fi->getResolver(), todo, constants);
    }
  }
  return seen;
}

// Whether a variable's initializer refers to any function or variable.
bool refersToGlobals(const Value *v) {
  const auto *gv = dyn_cast<GlobalVariable>(v);
  if (!gv || !gv->hasInitializer())
    return false;
  std::vector<const GlobalValue *> refs;
  std::set<const Constant *> seen;
  globalsIn(gv->getInitializer(), refs, seen);
  return !refs.empty();
}

// The C string a descriptor's name field points to.
std::string stringAt(const Constant *c) {
  const auto *gv = dyn_cast<GlobalVariable>(c->stripPointerCasts());
  if (!gv || !gv->hasInitializer())
    return "";
  const auto *data = dyn_cast<ConstantDataSequential>(gv->getInitializer());
  return data && data->isCString() ? data->getAsCString().str() : "";
}

// Field indexes of the descriptors (struct __dsu_func_desc / __dsu_var_desc
// in abi.h: abi, version|flags, name, tu, ...); a descriptor of another
// shape is left alone.
constexpr unsigned kFuncDescFields = 8, kFuncDescName = 2, kFuncDescPtr = 4, kFuncDescBody = 5,
                   kFuncDescStub = 6;
constexpr unsigned kVarDescFields = 7, kVarDescName = 2, kVarDescAddr = 4;

} // namespace

NotEmitted findNotEmitted(const Module &m) {
  NotEmitted out;
  const std::set<const GlobalValue *> live = reachable(m);
  for (const GlobalVariable &gv : m.globals()) {
    const bool func = gv.getName().starts_with(DSU_DESC_PREFIX);
    const bool var = gv.getName().starts_with(DSU_VDESC_PREFIX);
    if ((!func && !var) || !gv.hasInitializer())
      continue;
    const auto *desc = dyn_cast<ConstantStruct>(gv.getInitializer());
    if (!desc || desc->getNumOperands() != (func ? kFuncDescFields : kVarDescFields))
      continue;
    // A function is reached through its stub (from code the rewrite left
    // alone, and function pointers) or its pointer (calls the rewrite
    // made); either keeps it.
    bool reached = false, local = true;
    for (unsigned field : func ? std::vector<unsigned>{kFuncDescPtr, kFuncDescBody, kFuncDescStub}
                               : std::vector<unsigned>{kVarDescAddr}) {
      const auto *g = dyn_cast<GlobalValue>(desc->getOperand(field)->stripPointerCasts());
      reached |= !g || live.count(g);
      local &= !g || g->hasLocalLinkage();
    }
    if (reached || !local)
      continue;
    // A static of plain data stays registered even where every use folded
    // (a constant the optimizer propagated): a patch may read it, and it
    // refers to nothing. One that points at code or data (a table of
    // function pointers) would keep what it points at in the object.
    if (var && !refersToGlobals(desc->getOperand(kVarDescAddr)->stripPointerCasts()))
      continue;
    std::string name = stringAt(desc->getOperand(func ? kFuncDescName : kVarDescName));
    if (!name.empty())
      (func ? out.functions : out.statics).insert(name);
  }
  return out;
}

} // namespace dsu
