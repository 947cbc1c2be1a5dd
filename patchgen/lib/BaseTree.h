// The base a patch is made against: the old tree (built with dsu-cc, or a
// previous patch on top of one), the new tree, the files that differ and the
// manifests of the units they are.
#pragma once

#include "Options.h"
#include "PatchManifest.h"
#include "UnitRecords.h"

#include "Argv.h"
#include "ManifestReader.h"
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dsu {

// The previous patch when OLD is a dsu-patchgen output directory.
struct PatchChain {
  std::string parentName;
  std::string prevDir;    // the previous patch's output directory
  std::optional<PatchManifest> prev; // its patch.json
};

// A unit of the base, from its <object>.dsu.json manifest.
struct BaseTreeUnit {
  std::string manifestPath;
  Manifest manifest;
  std::string rel;        // source path relative to the base root
  std::string baseSource; // absolute, in the base tree
};

struct BaseTree {
  std::string baseDir; // the tree built with dsu-cc
  PatchChain chain;
  std::vector<std::string> changedC;      // .c files that differ or are new (sorted)
  std::vector<std::string> changedHeaders; // .h files that differ (sorted)
  // Units of the base whose compile read a changed header: rel -> the
  // headers (rel). Their jobs compare them like changed .c files.
  std::map<std::string, std::set<std::string>> headerDependents;
  // Changed headers that only add fields to --shadow structs: no includer
  // is compared for them.
  std::set<std::string> shadowOnlyHeaders;
  std::map<std::string, BaseTreeUnit> units;       // rel -> changed unit
  std::map<std::string, std::string> removedUnits; // rel -> object manifest

  // The old version of a file: the previous patches' copy, else the base's.
  std::string oldVersionOf(const std::string &rel) const;
  // The units to compare: the changed .c files and the units including a
  // changed header, sorted, each once.
  std::vector<std::string> unitsToCompare() const;
};

// Whether OLD and NEW are directories (an error naming the one that is not).
bool inputsAreDirectories(const PatchgenOptions &o);

// The base: OLD, or the base of the previous patch OLD holds (which must be
// of the same mode). False after an error.
bool readPatchChain(const PatchgenOptions &o, BaseTree &tree);

// The .c and .h files of NEW that differ from their old versions (cheap
// for hard links); `work` is the run's directory, left out like OUT.
void compareTrees(const PatchgenOptions &o, const std::string &work, BaseTree &tree);

// The manifests of the changed units and of the units that include a
// changed header (their dependencies as the build recorded them beside the
// object, else from the preprocessor; `work` holds its scratch output), and
// units the new version removed (errors, `failed` set). No unit to compare
// is no error (the unit jobs note headers no unit includes; the driver says
// there is nothing to patch). False when no file differs at all, or a
// manifest cannot be read (one of another schema, say: an error naming it).
bool findUnitManifests(const PatchgenOptions &o, const std::string &work, BaseTree &tree,
                       bool &failed);

// The recorded command line, classified in the directory it ran in (it is
// relative to it).
CompileJob classifyIn(const std::string &cwd, const std::vector<std::string> &args);

// The compiler the unit was built with, as recorded (clang-19 when the
// manifest names none).
std::vector<std::string> recordedCompiler(const Manifest &manifest);

// The base's functions and registered variables of a unit, plus what the
// patches below this one added to it.
BaseUnit baseUnit(const Manifest &manifest, const PatchChain &chain);

} // namespace dsu
