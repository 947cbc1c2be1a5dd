// The patch manifest patch.json (dsu-patch/1, docs/patch.md): what each
// unit's patch does, what the patches up to this one changed (for the next
// one stacked on it), the safety analysis and a summary.
#pragma once

#include "PatchManifest.h"
#include "PatchSafety.h"
#include "PatchTable.h"
#include "UnitJob.h"

#include <nlohmann/json.hpp>

namespace dsu {

// patch.json without "artifact" and "seconds" (known after the build).
// `work`: the run's directory, which the units' code paths are relative to.
nlohmann::json patchManifest(const PatchContext &patch, const PatchSafety &safety,
                             const std::string &fullName, const std::string &work);

// The name of a DSU_REF_* kind in patch.json.
const char *refKindName(unsigned kind);

} // namespace dsu
