// Reading the per-object manifest `<object>.dsu.json` (docs/manifest.md)
// back into typed records: the one reader beside the one writer
// (Manifest.h), checking the schema string the writer puts in
// (ManifestSchema.h). Without clang or LLVM: the analysis can use it.
//
// The records keep what the manifest says and no more: a field a manifest
// leaves out keeps its default here, and the `has...` flags say where the
// difference matters to a reader (a manifest from before effects or field
// stores were recorded says nothing about them, which is not "none").
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dsu {

struct ManifestEffectEvent {
  std::string kind; // call | icall | type | global | point
  std::string name;
  unsigned block = 0;
  unsigned line = 0;
  std::vector<std::string> during; // wrapped types a call or icall happens under
};

struct ManifestEffects {
  bool cfg = true; // false: the blocks say nothing (no CFG was built)
  unsigned entry = 0;
  unsigned exit = 0;
  // Successors per CFG block; absent when the function has fewer than two
  // events (the writer leaves the blocks out then).
  std::optional<std::vector<std::vector<unsigned>>> succ;
  std::vector<ManifestEffectEvent> events;
  std::string signature;
};

// What the manifest says of every function and type it lists.
struct ManifestEntry {
  std::string name, file; // "f", "struct T"; the presumed file of the definition
  unsigned line = 0;
  bool updateable = false;
  std::string reason, reasonText; // when not updateable: reason id and its text
};

struct ManifestFunction : ManifestEntry {
  unsigned endLine = 0;
  bool external = false; // linkage
  std::string bodyHash, protoHash;
  std::vector<std::string> calls;
  unsigned callsThroughPointer = 0;
  std::optional<ManifestEffects> effects; // absent in manifests older than the analysis
  std::string transaction;                // attribute | syscall | irq, or ""
};

struct ManifestType : ManifestEntry {
  unsigned long representationSize = 0, slop = 0, unionSize = 0, unionAlign = 0;
  unsigned usesRewritten = 0;
};

struct ManifestVariable {
  std::string name; // registry name: "v", or "f.v" for a function's static
  std::string function, file, type;
  unsigned line = 0;
  bool isConst = false;
  bool registered = false;
  std::string reasonText; // when not registered
};

struct ManifestAddressTaken {
  std::string name, signature;
  bool external = false;
};

struct Manifest {
  std::string path; // the file it was read from
  std::string source, object, cwd;
  bool kernel = false; // mode
  std::string status, statusDetail;
  std::string unitHash;
  std::string tu;
  // The compile's command line; only manifests that record one have it.
  bool hasCommandLine = false;
  std::vector<std::string> compiler, arguments;
  std::vector<ManifestFunction> functions;
  std::vector<ManifestType> types;
  std::vector<ManifestVariable> variables;
  std::vector<ManifestAddressTaken> addressTaken;
  // field -> function stored into it; absent in manifests from before
  // field stores were recorded (then every field is open).
  bool hasFieldStores = false;
  std::vector<std::pair<std::string, std::string>> fieldStores;
  std::vector<std::string> openFields;
};

// Why a manifest cannot be read. Tools that print it themselves use
// message(); those that report it their own way (as a warning, or under a
// heading) take the path and the reason apart.
struct ManifestError {
  std::string path;
  std::string reason; // "not valid JSON", "not a dsu-manifest/1 file", ...
  // "<path>: error: <reason>", as clang says it.
  std::string message() const { return path + ": error: " + reason; }
};

// Reads the manifest from `text` (what `path` holds). std::nullopt with
// `error` when it is not JSON, not a manifest of the schema the writer
// writes, or has a field of the wrong shape.
std::optional<Manifest> parseManifest(const std::string &text, const std::string &path,
                                      ManifestError &error);
// The same, reading `path` first.
std::optional<Manifest> readManifestFile(const std::string &path, ManifestError &error);

} // namespace dsu
