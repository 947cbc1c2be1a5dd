// The safety analysis of a patch's change set over the base's manifests.
#include "PatchSafety.h"

#include <fmt/format.h>

#include <set>

namespace dsu {

PatchSafety analysePatchSafety(const PatchContext &patch, const PhaseLog &log) {
  PatchSafety out;
  if (!patch.options.safety || !patch.tree.chain.parentName.empty())
    return out;
  std::set<std::string> change;
  for (const PatchUnit &b : patch.units) {
    for (const std::string &f : b.plan.replaced)
      change.insert(b.tu + ":" + f);
    for (const TypeUpdate &u : b.plan.typeUpdates)
      change.insert(b.tu + ":" + u.name);
  }
  safety::Program program;
  std::vector<std::string> errors;
  program.load({patch.tree.baseDir}, errors);
  for (const std::string &e : errors)
    fmt::print(stderr, "{}: warning: manifest not used by the safety analysis\n", e);
  program.link();
  log.done("loaded the base's manifests for the safety analysis");
  out.unsafe = safety::unsafeSites(program, change);
  log.done("ran the safety analysis");
  nlohmann::json points = nlohmann::json::array();
  unsigned frames = 0;
  for (const safety::Unsafe &u : out.unsafe) {
    if (u.kind == safety::Unsafe::Point)
      points.push_back({{"where", u.where}, {"why", u.why}});
    else
      ++frames;
  }
  out.analysed = true;
  out.manifest = {{"analysed", true},
                  {"change_set", change},
                  {"unsafe_points", points},
                  {"unsafe_frames", frames}};
  return out;
}

} // namespace dsu
