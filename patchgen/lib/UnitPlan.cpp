// The plan of a unit's patch: its old and new snapshots compared against
// what the base has.
#include "UnitPlan.h"

#include "Reasons.h"
#include "SourceUtils.h"

#include "dsu/abi.h"


#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <functional>

namespace dsu {

namespace {

bool foldable(const std::string &reason) {
  return reason == "inline" || reason == "needs_inlining" || reason == "constant_body" ||
         reason == "always_inline";
}

// A definition from a header (a changed one: the snapshot has no others):
// compiled into each unit that includes it, no function of its own in the
// running program.
bool fromHeader(const std::string &file) { return !isCSourceFile(file); }

// What changed in a struct's layout, for the refusal: "field 'a' retyped
// (long was int), field 'b' moved (offset 16 was 8)".
std::string layoutChange(const UnitSnapshot::Type &oldT, const UnitSnapshot::Type &newT) {
  std::map<std::string, const UnitSnapshot::Type::Field *> before;
  for (const auto &f : oldT.fields)
    before[f.name] = &f;
  std::vector<std::string> parts;
  for (const auto &f : newT.fields) {
    auto b = before.find(f.name);
    if (b == before.end())
      parts.push_back(fmt::format("field '{}' added", f.name));
    else if (b->second->type != f.type)
      parts.push_back(fmt::format("field '{}' retyped ({} was {})", f.name, f.type, b->second->type));
    else if (b->second->offset != f.offset)
      parts.push_back(fmt::format("field '{}' moved (offset {} was {})", f.name, f.offset,
                                  b->second->offset));
    if (b != before.end())
      before.erase(b);
  }
  for (const auto &[name, f] : before)
    parts.push_back(fmt::format("field '{}' removed", name));
  if (newT.size != oldT.size)
    parts.push_back(fmt::format("size {} was {}", newT.size, oldT.size));
  std::string out;
  for (size_t i = 0; i < parts.size() && i < 4; ++i)
    out += (i ? ", " : "") + parts[i];
  if (parts.size() > 4)
    out += fmt::format(" and {} more", parts.size() - 4);
  return out.empty() ? "its definition changed" : out;
}

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
    u.oldDefinition.replace(0, head.size(), fmt::format("struct " DSU_REP_PREFIX "{}_{}", w.tag, u.from));
  u.newDefinition = newT.definition;
  if (u.newDefinition.compare(0, head.size(), head) == 0)
    u.newDefinition.replace(0, head.size(), fmt::format("struct " DSU_REP_PREFIX "{}_{}", w.tag, u.to));
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
    if (w == base.wrapped.end() && fromHeader(t.file)) {
      // dsu-cc wraps structs of .c files only: every unit that includes a
      // header must agree on its layout, instrumented or not.
      plan.errors.push_back(fmt::format(
          "{}: error: {} changed layout ({}); it is defined in a header, which the running "
          "program does not wrap, so its live instances cannot be transformed: a live patch "
          "can only add fields to it, as shadow data (--shadow {}), with the fields it has "
          "left as they are",
          where(t.file, t.line, t.col), name, layoutChange(old->second, t),
          t.tag.empty() ? name : t.tag));
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
      if (!fromHeader(f.file)) // a header's is compiled into the patch code as it is
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
    if (old->second.proto != f.proto && !fromHeader(f.file)) {
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
  // A function whose code is compiled into its callers: they change with it.
  auto foldIntoCallers = [&](const std::string &name) {
    for (const auto &[caller, callees] : newUnit.calls)
      if (callees.count(name) && !plan.added.count(caller) && seen.insert(caller).second) {
        changed.push_back(caller);
        if (becauseOfType.count(name))
          becauseOfType[caller] = becauseOfType[name];
      }
  };
  while (!changed.empty()) {
    std::string name = changed.front();
    changed.pop_front();
    auto snapped = newUnit.functions.find(name);
    if (snapped == newUnit.functions.end()) {
      // An unchanged header's inline function that calls a changed one:
      // its callers compiled that in too.
      foldIntoCallers(name);
      continue;
    }
    const UnitSnapshot::Function &f = snapped->second;
    auto b = base.functions.find(name);
    if (fromHeader(f.file) && !f.external) {
      // A header's static (inline) function: each includer compiled its own
      // copy into its callers, which change with it.
      foldIntoCallers(name);
      continue;
    }
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
    if (foldable(b->second) && !f.external && oldUnit.addressEscapes.count(name)) {
      // Folded into its callers, but also compiled on its own for the
      // pointers to it (file_operations, callbacks): those keep the old code.
      plan.errors.push_back(fmt::format(
          "{}: error: {}() changed, but it is not updateable in the running program (reason: "
          "{}) and its address is taken, so the pointers to it the program holds keep running "
          "its old code",
          where(f.file, f.line, f.col), name, b->second));
      continue;
    }
    if (foldable(b->second) && !f.external) {
      // Its old code is folded into its callers: they change with it.
      foldIntoCallers(name);
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
    // Code that already ran (at boot, or when its module loaded) or runs
    // only when its module is unloaded: no live patch can reach it, and it
    // does not stop the rest of the fix (kpatch and livepatch ignore it too).
    if (b->second == "init" || b->second == "exit") {
      plan.warnings.push_back(fmt::format(
          "{}: warning: {}() changed, but it is {} code, which the running kernel {}: the "
          "change is left out of the patch and takes effect at the next boot",
          where(f.file, f.line, f.col), name, b->second == "init" ? "__init" : "__exit",
          b->second == "init" ? "ran once already (at boot or module load) and has freed"
                              : "runs only when the module is unloaded (never, when built in)"));
      plan.leftOut.insert(name);
      continue;
    }
    plan.errors.push_back(fmt::format("{}: error: {}() changed, but it is not updateable in the "
                                      "running program (reason: {})",
                                      where(f.file, f.line, f.col), name, b->second));
  }
  for (const auto &[name, f] : oldUnit.functions)
    if (!newUnit.functions.count(name) && !fromHeader(f.file)) {
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

} // namespace dsu
