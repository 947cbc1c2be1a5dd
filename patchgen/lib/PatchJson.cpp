// The patch manifest patch.json.
#include "PatchJson.h"

#include <algorithm>
#include <filesystem>

extern "C" {
#include "dsu/abi.h"
}

namespace fs = std::filesystem;
using nlohmann::json;

namespace dsu {

namespace {

json typeUpdateJson(const TypeUpdate &u) {
  json copied = json::array(), added = json::array();
  for (const auto &c : u.copied)
    copied.push_back(c.field);
  for (const auto &a : u.added)
    added.push_back({{"field", a.first}, {"default", a.second}});
  return {{"name", u.name},
          {"from_version", u.from},
          {"to_version", u.to},
          {"representation_size", u.newSize},
          {"union_size", u.unionSize},
          {"copied", copied},
          {"added", added},
          {"removed", u.removed},
          {"retyped", u.retyped},
          {"user_transformer", u.userTransformer}};
}

json unitJson(const PatchUnit &b, const std::string &work) {
  json typesJson = json::array();
  json shadowJson = json::array();
  for (const ShadowUpdate &su : b.plan.shadowUpdates)
    shadowJson.push_back({{"name", su.name}, {"added", su.added}});
  for (const TypeUpdate &u : b.plan.typeUpdates)
    typesJson.push_back(typeUpdateJson(u));
  json refs = json::array();
  for (const PatchRef &r : b.unit.refs)
    refs.push_back({{"kind", refKindName(r.kind)}, {"tu", r.tu}, {"name", r.name}});
  return {{"tu", b.tu},
          {"unit_hash", b.unitHash},
          {"code", fs::relative(b.file, work).string()},
          {"replaced", b.plan.replaced},
          {"added_functions", b.plan.added},
          {"deleted_functions", b.plan.deleted},
          {"added_variables", b.plan.addedVars},
          {"references", refs},
          {"types", typesJson},
          {"shadow", shadowJson},
          {"warnings", b.plan.warnings}};
}

// What the patches up to this one added to a unit and the type versions
// they brought: the previous patch's, updated with this one's.
void addToCumulative(std::vector<PatchCumulativeUnit> &cumulative, const PatchUnit &b) {
  auto it = std::find_if(cumulative.begin(), cumulative.end(),
                         [&](const PatchCumulativeUnit &c) { return c.tu == b.tu; });
  if (it == cumulative.end()) {
    cumulative.push_back({b.tu, {}, {}, {}});
    it = cumulative.end() - 1;
  }
  for (const PatchType &t : b.unit.types)
    it->typeVersions[t.name] = t.version;
  it->functions.insert(it->functions.end(), b.plan.added.begin(), b.plan.added.end());
  it->variables.insert(it->variables.end(), b.unit.newVarDescs.begin(), b.unit.newVarDescs.end());
}

json cumulativeJson(const std::vector<PatchCumulativeUnit> &cumulative) {
  json out = json::array();
  for (const PatchCumulativeUnit &c : cumulative)
    out.push_back({{"tu", c.tu},
                   {"functions", c.functions},
                   {"variables", c.variables},
                   {"type_versions", c.typeVersions}});
  return out;
}

} // namespace

const char *refKindName(unsigned kind) {
  switch (kind) {
  case DSU_REF_FUNC:
    return "function";
  case DSU_REF_VAR:
    return "variable";
  case DSU_REF_SYMBOL:
    return "symbol";
  default:
    return "type";
  }
}

json patchManifest(const PatchContext &patch, const PatchSafety &safety,
                   const std::string &fullName, const std::string &work) {
  const PatchgenOptions &o = patch.options;
  const PatchChain &chain = patch.tree.chain;
  std::vector<PatchCumulativeUnit> cumulative;
  std::vector<std::string> globals;
  if (chain.prev) {
    cumulative = chain.prev->cumulative;
    globals = chain.prev->globals;
  }
  for (const PatchUnit &b : patch.units)
    for (const std::string &g : b.unit.addedGlobals)
      globals.push_back(g);
  json unitsJson = json::array();
  for (const PatchUnit &b : patch.units) {
    addToCumulative(cumulative, b);
    unitsJson.push_back(unitJson(b, work));
  }
  const PatchCounts n = countPatch(patch.units);
  return {{"schema", kPatchSchema},
          {"name", fullName},
          {"parent", chain.parentName},
          {"mode", o.kernel() ? "kernel" : "user"},
          {"base", {{"dir", patch.tree.baseDir}}},
          {"old", o.oldDir},
          {"new", o.newDir},
          {"units", unitsJson},
          {"cumulative", cumulativeJson(cumulative)},
          {"globals", globals},
          {"safety", safety.manifest},
          {"summary",
           {{"replaced", n.funcs}, {"added_functions", n.newFuncs}, {"added_variables", n.addedVars},
            {"registered_variables", n.newVars}, {"type_updates", n.types},
            {"references", n.refs}}}};
}

} // namespace dsu
