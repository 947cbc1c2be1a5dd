#include "PatchTypeWrap.h"

#include <map>

namespace dsu {

const PatchTypeWrap *runningWrap(const TypeWrapInput &in, llvm::StringRef tag) {
  if (!in.patchTypes)
    return nullptr;
  auto it = in.patchTypes->find(tag.str());
  return it == in.patchTypes->end() ? nullptr : &it->second;
}

} // namespace dsu
