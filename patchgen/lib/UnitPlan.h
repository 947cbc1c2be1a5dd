// The plan of a unit's patch: its old and new snapshots compared against
// what the base has (pure data).
#pragma once

#include "UnitRecords.h"

#include <set>
#include <string>

namespace dsu {

// Compares the old and new versions of a unit against what the base has.
// `userTransformers`: tags whose dsu_transform_<tag>() the user supplies.
UnitPlan planUnit(const BaseUnit &base, const UnitSnapshot &oldUnit, const UnitSnapshot &newUnit,
                  const std::string &patchName,
                  const std::set<std::string> &userTransformers = {});

} // namespace dsu
