// The patch manifest patch.json (dsu-patch/1, docs/patch.md) as typed
// records, and its one reader. PatchJson.cpp writes it; dsu-patchgen reads a
// previous patch's back when OLD is a patch directory (a stacked patch) and
// when it checks what an existing OUT holds.
//
// Only what a later run needs is read: the patch's identity, its base, and
// what the chain up to it added (cumulative, globals). The per-unit details
// are for people and tests.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dsu {

inline constexpr const char *kPatchSchema = "dsu-patch/1";

// What the patches up to one (inclusive) added to one unit.
struct PatchCumulativeUnit {
  std::string tu;
  std::vector<std::string> functions; // added functions, reachable through the registry
  std::vector<std::string> variables; // added statics with a descriptor
  std::map<std::string, unsigned> typeVersions; // "struct T" -> the version the chain brought it to
};

struct PatchManifest {
  std::string name;   // the patch's full name (what a stacked patch names as parent)
  std::string parent; // "" for a patch on the base
  bool kernel = false; // mode
  std::string baseDir; // the tree built with dsu-cc
  std::vector<PatchCumulativeUnit> cumulative;
  std::vector<std::string> globals; // globals the chain added
};

// Parses patch.json text; `path` names it in the error. nullopt with
// `error` set ("PATH: not a dsu-patch/1 manifest (why)") when it is not one.
std::optional<PatchManifest> parsePatchManifest(const std::string &text, const std::string &path,
                                                std::string &error);

// Reads and parses PATH (an error when it cannot be read).
std::optional<PatchManifest> readPatchManifest(const std::string &path, std::string &error);

} // namespace dsu
