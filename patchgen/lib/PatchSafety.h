// The safety analysis of a patch's change set over the base's manifests:
// where the patch must not be applied (docs/safety.md).
#pragma once

#include "PhaseLog.h"
#include "UnitJob.h"

#include "Safety.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace dsu {

struct PatchSafety {
  bool analysed = false;
  std::vector<safety::Unsafe> unsafe;                    // the patch table's unsafe rows
  nlohmann::json manifest = {{"analysed", false}};       // patch.json's "safety"
};

// Stacked patches are not analysed (the running code is no longer the
// base's), nor with --no-safety: the runtimes then refuse while replaced
// code is active.
PatchSafety analysePatchSafety(const PatchContext &patch, const PhaseLog &log);

} // namespace dsu
