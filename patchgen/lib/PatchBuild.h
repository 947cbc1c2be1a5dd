// Compiling and linking the patch: the units' code and the patch table into
// OUT/NAME.so (user space), or a module built by kbuild's external-module
// path against the instrumented kernel (--kernel).
#pragma once

#include "BaseTree.h"
#include "OutputDir.h"
#include "UnitJob.h"

#include <string>
#include <vector>

namespace dsu {

struct PatchBuildInput {
  const PatchgenOptions &options;
  const BaseTree &tree;
  const std::vector<PatchUnit> &units;
  std::string patchName;
};

// Builds the patch in the run's directory (the table is in
// dsu_patch_main.c). `artifact`: its path once the run's directory is OUT.
// False after an error naming the log, with the files it names kept.
bool buildPatch(const PatchBuildInput &in, OutputDir &output, std::string &artifact);

} // namespace dsu
