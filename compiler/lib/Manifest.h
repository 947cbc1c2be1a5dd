// The per-object manifest `<object>.dsu.json` (schema: docs/manifest.md).
#pragma once
#include "RewriteRecords.h"
#include "ManifestSchema.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dsu {

struct ManifestInfo {
  std::string source;  // as given on the command line
  std::string object;  // -o
  std::string cwd;     // directory the compiler ran in
  std::string status;  // instrumented | unchanged | excluded | fallback
  std::string statusDetail;
  bool kernel = false;
  std::string unitHash; // hash of the preprocessed unit (identifies the base)
  std::string tu;       // translation-unit name recorded in descriptors
  std::vector<std::string> compiler;  // the real compiler's words
  std::vector<std::string> arguments; // the command line after argv[0]
};

nlohmann::json manifestJson(const ManifestInfo &info, const RewriteResult &r);
// Writes atomically (a unique temporary created exclusively beside `path`,
// renamed over it); false with `error` on failure.
bool writeJsonFile(const std::string &path, const nlohmann::json &j, std::string &error);

} // namespace dsu
