// Compiling and linking the patch: the units' code and the patch table into
// OUT/NAME.so (user space), or a module built by kbuild's external-module
// path against the instrumented kernel (--kernel).
#pragma once

#include "OutputDir.h"
#include "UnitJob.h"

#include <string>

namespace dsu {

// Builds the patch in the run's directory (the table is in
// dsu_patch_main.c). `artifact`: its path once the run's directory is OUT.
// False after an error naming the log, with the files it names kept.
bool buildPatch(const PatchContext &patch, const std::string &patchName, OutputDir &output,
                std::string &artifact);

} // namespace dsu
