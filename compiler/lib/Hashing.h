// The hashes dsu-cc records and emits: content hashes for identity and
// change detection, and the type tag the runtime checks descriptors with.
#pragma once

#include <llvm/ADT/StringRef.h>

#include <cstddef>
#include <string>

namespace dsu {

// SHA-256 of `data` as hex, the first `bytes` bytes: unit hashes (32),
// body/prototype hashes (16), signature hashes (8), patch names (4).
std::string sha256Hex(llvm::StringRef data, size_t bytes = 32);

// What the __dsu_tag of an instance of `name` ("struct T") of unit `tu`
// holds: FNV-1a over tu, a 0 byte and name, as the runtime's dsu_core_hash
// (which checks descriptors against it).
unsigned typeTag(llvm::StringRef tu, llvm::StringRef name);

} // namespace dsu
