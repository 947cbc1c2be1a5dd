#include "Hashing.h"

#include <fmt/format.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Support/SHA256.h>

#include <cstdint>

namespace dsu {

std::string sha256Hex(llvm::StringRef data, size_t bytes) {
  auto digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(data));
  std::string out;
  for (size_t i = 0; i < bytes && i < digest.size(); ++i)
    out += fmt::format("{:02x}", digest[i]);
  return out;
}

unsigned typeTag(llvm::StringRef tu, llvm::StringRef name) {
  uint32_t h = 2166136261u;
  auto mix = [&h](unsigned char c) { h = (h ^ c) * 16777619u; };
  for (char c : tu)
    mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : name)
    mix(static_cast<unsigned char>(c));
  return h;
}

} // namespace dsu
