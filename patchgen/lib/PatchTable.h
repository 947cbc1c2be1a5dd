// The patch table: the C unit (dsu_patch_main.c) the patch's .so or .ko
// carries, a struct __dsu_patch (dsu/abi.h) listing what the patch replaces,
// reaches, adds and changes, and where it is unsafe.
#pragma once

#include "PatchSafety.h"
#include "UnitJob.h"

#include <string>
#include <vector>

namespace dsu {

// The table's lengths (and the added variables, registered or not).
struct PatchCounts {
  unsigned funcs = 0, refs = 0, newFuncs = 0, newVars = 0, types = 0, addedVars = 0;
};
PatchCounts countPatch(const std::vector<PatchUnit> &units);

// The patch's unique name: `patchName` and a hash of the code (and of the
// parent), so a rebuilt-but-different patch is a different patch.
std::string patchFullName(const std::vector<PatchUnit> &units, const std::string &patchName,
                          const std::string &parentName);

struct PatchTableInput {
  const std::vector<PatchUnit> &units;
  const PatchSafety &safety;
  std::string fullName, parentName;
  bool kernel = false; // a module: init/exit apply it (dsu_apply)
};

// The text of dsu_patch_main.c.
std::string patchTableText(const PatchTableInput &in);

} // namespace dsu
