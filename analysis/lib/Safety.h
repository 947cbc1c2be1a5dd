// The safety analysis (docs/safety.md): from the per-object manifests' effect
// records, the whole-program call graph and, per update point, call site and
// transaction, the effects before and after it. One header for its users
// (dsu-analyze, dsu-check, dsu-patchgen); each part has its own:
//   Program.h      the program model: manifests loaded, call graph linked
//   Effects.h      effect sets over the call graph and the CFGs
//   UnsafeSites.h  what a patch must not meet (update points, frames)
//   Reports.h      the JSON documents dsu-analyze prints
#pragma once

#include "Effects.h"
#include "Program.h"
#include "Reports.h"
#include "UnsafeSites.h"
