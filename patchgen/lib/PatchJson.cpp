// The patch manifest patch.json.
#include "PatchJson.h"

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
void addToCumulative(json &cumulative, const PatchUnit &b) {
  json cum;
  for (json &c : cumulative)
    if (c.value("tu", "") == b.tu)
      cum = c;
  json cf = cum.is_null() ? json::array() : cum["functions"];
  json cv = cum.is_null() ? json::array() : cum["variables"];
  json ctv = cum.is_null() ? json::object() : cum.value("type_versions", json::object());
  for (const PatchType &t : b.unit.types)
    ctv[t.name] = t.version;
  for (const std::string &f : b.plan.added)
    cf.push_back(f);
  for (const std::string &v : b.unit.newVarDescs)
    cv.push_back(v);
  bool found = false;
  for (json &c : cumulative)
    if (c.value("tu", "") == b.tu) {
      c["functions"] = cf;
      c["variables"] = cv;
      c["type_versions"] = ctv;
      found = true;
    }
  if (!found)
    cumulative.push_back({{"tu", b.tu}, {"functions", cf}, {"variables", cv}, {"type_versions", ctv}});
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
  json cumulative = chain.prev.is_null() ? json::array() : chain.prev.value("cumulative", json::array());
  json globals = chain.prev.is_null() ? json::array() : chain.prev.value("globals", json::array());
  for (const PatchUnit &b : patch.units)
    for (const std::string &g : b.unit.addedGlobals)
      globals.push_back(g);
  json unitsJson = json::array();
  for (const PatchUnit &b : patch.units) {
    addToCumulative(cumulative, b);
    unitsJson.push_back(unitJson(b, work));
  }
  const PatchCounts n = countPatch(patch.units);
  return {{"schema", "dsu-patch/1"},
          {"name", fullName},
          {"parent", chain.parentName},
          {"mode", o.kernel() ? "kernel" : "user"},
          {"base", {{"dir", patch.tree.baseDir}}},
          {"old", o.oldDir},
          {"new", o.newDir},
          {"units", unitsJson},
          {"cumulative", cumulative},
          {"globals", globals},
          {"safety", safety.manifest},
          {"summary",
           {{"replaced", n.funcs}, {"added_functions", n.newFuncs}, {"added_variables", n.addedVars},
            {"registered_variables", n.newVars}, {"type_updates", n.types},
            {"references", n.refs}}}};
}

} // namespace dsu
