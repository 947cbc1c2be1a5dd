// The whole program as the safety analysis sees it: every function and
// wrapped type of the per-object manifests (ManifestLoading.cpp), its items,
// and the call graph resolved over all units (CallGraph.cpp).
//
// Items are the things an update can change or a computation can touch:
//   function  "tu:name"      (a function with a manifest)
//   type      "tu:struct T"  (a struct the unit wraps)
//   global    "tu:v" / "v"   (a static, or an external variable by name)
// Indirect calls may reach every function whose address is taken anywhere
// in the program with the same signature (the canonical function type), the
// rule kCFI enforces; calls of functions without a manifest (libc, assembly)
// have no effect on program items (they do not call back into the program
// except through such pointers).
#pragma once

#include "ManifestReader.h"
#include "ProgramRecords.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dsu::safety {

class Program {
public:
  // Reads every `*.dsu.json` under `dirs` (recursively). Errors (unreadable
  // or malformed manifests) are appended to `errors` as "path: reason".
  void load(const std::vector<std::string> &dirs, std::vector<std::string> &errors);
  // Adds one manifest, read by dsu::readManifestFile (compiler/lib).
  void addManifest(const dsu::Manifest &m);
  // Resolves calls, indirect calls, types and globals; call after loading.
  void link();

  std::vector<Function> functions;
  std::vector<Type> types; // every struct listed (updateable or not)
  std::vector<std::string> items;          // item names
  std::vector<char> itemKind;              // 'f', 't', 'g'
  std::map<std::string, int> itemIndex;
  std::string mode = "user";               // kernel when any manifest is

private:
  int item(const std::string &name, char kind);
  struct Unit {
    std::string tu;
    std::set<std::string> wrappedTypes, statics;
    std::map<std::string, int> functions; // name -> index (defined here)
  };
  std::vector<Unit> units_;
  // Per function, the manifest's events by name until link() resolves them.
  std::vector<std::vector<dsu::ManifestEffectEvent>> manifestEvents_;
  std::vector<int> unitOf_;
  std::map<std::string, std::vector<int>> externals_;  // name -> external definitions
  std::map<std::string, std::set<int>> bySignature_;   // address-taken functions
  std::vector<std::pair<int, dsu::ManifestAddressTaken>> addressTaken_; // (unit, entry)
  std::vector<std::pair<int, std::pair<std::string, std::string>>> fieldStores_; // (unit, (field, fn))
  std::set<std::string> openFields_;
  bool allFieldsOpen_ = false;
  std::vector<int> resolve(int unit, const std::string &name) const;
};

} // namespace dsu::safety
