// The patch manifest patch.json (dsu-patch/1, docs/patch.md): what each
// unit's patch does, what the patches up to this one changed (for the next
// one stacked on it), the safety analysis and a summary.
#pragma once

#include "BaseTree.h"
#include "PatchSafety.h"
#include "PatchTable.h"
#include "UnitJob.h"

#include <nlohmann/json.hpp>

namespace dsu {

struct PatchJsonInput {
  const PatchgenOptions &options;
  const BaseTree &tree;
  const std::vector<PatchUnit> &units;
  const PatchSafety &safety;
  std::string fullName;
  std::string work; // unit code paths are relative to it
};

// patch.json without "artifact" and "seconds" (known after the build).
nlohmann::json patchManifest(const PatchJsonInput &in);

// The name of a DSU_REF_* kind in patch.json.
const char *refKindName(unsigned kind);

} // namespace dsu
