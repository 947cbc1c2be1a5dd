// The schema string of `<object>.dsu.json`, written by Manifest.cpp and
// checked by ManifestReader.cpp. Apart, so that a reader needs neither
// clang nor the rewriter's records.
#pragma once

namespace dsu {

inline constexpr const char *kManifestSchema = "dsu-manifest/1";

} // namespace dsu
