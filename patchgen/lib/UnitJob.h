// One changed unit's work: parse its old and new versions, plan the patch of
// it, preprocess and rewrite the new version into the unit's patch code.
#pragma once

#include "BaseTree.h"
#include "KernelSymbols.h"
#include "Options.h"
#include "Transformers.h"
#include "UnitRecords.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace dsu {

// A unit the patch carries: its plan and its patch code (in `file`).
struct PatchUnit {
  std::string file, tu, unitHash;
  unsigned index = 0;
  UnitPlan plan;
  RewrittenUnit unit;
};

// What every unit's job reads.
struct UnitJobInputs {
  const PatchgenOptions &options;
  const BaseTree &tree;
  const KernelSymbols &kernelSymbols;
  const std::vector<TransformerFile> &transformers;
  std::string work;      // the run's directory
  std::string patchName; // without the hash of the code
};

// What the jobs produce together.
struct UnitJobResults {
  std::vector<PatchUnit> units;
  std::set<std::string> transformerTagsUsed;
  std::string transformerStubs;
  bool failed = false; // an error was reported
  std::set<std::string> reported; // warnings and errors printed (each once)
  // Units only a changed header reached whose objects are not instrumented:
  // "status: detail" -> units.
  std::map<std::string, std::vector<std::string>> notInstrumented;
};

// What the phases after the unit jobs read: the options, the base and the
// units the patch carries.
struct PatchContext {
  const PatchgenOptions &options;
  const BaseTree &tree;
  const std::vector<PatchUnit> &units;
};

// Runs the job of each unit to compare (changed, or including a changed
// header), in order; a unit whose new version changes no function is left
// out (with a note; per header for units only a header reached). The new
// headers go to `work`/src with the new units.
void runUnitJobs(const UnitJobInputs &in, UnitJobResults &results);

// Patch code using a function its unit no longer defines: an error, unless
// another unit of this patch adds the function (it moved there; the patch's
// own definition is the one its code binds to). False after an error.
bool checkDeletedUses(const std::vector<PatchUnit> &units);

} // namespace dsu
