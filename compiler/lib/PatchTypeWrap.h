// Patch mode of type wrapping, used only by dsu-patchgen: a patch's units
// wrap exactly the types the running program wraps (by tag), in the version
// the patch code is compiled for, keep the running instances' union size,
// reach the type descriptor through a reference slot instead of defining one,
// and may carry text after the wrapper (the old representation for a
// transformer). wrapTypes() runs in this mode when TypeWrapInput::patchTypes
// is set.
#pragma once

#include "TypeWrapping.h"

#include <llvm/ADT/StringRef.h>

#include <string>

namespace dsu {

// How the running program wraps a type the patch code uses.
struct PatchTypeWrap {
  unsigned version = 0;        // the version the patch code is compiled for
  unsigned long unionSize = 0; // the running instances' union: the wrapper keeps its size
  std::string descExpr;        // a `struct __dsu_type_desc *` expression (a reference slot)
  std::string after;           // text to place right after the wrapper (old representation ...)
};

// In patch mode, how the running program wraps the type with tag `tag`;
// null when it does not wrap it or not in patch mode.
const PatchTypeWrap *runningWrap(const TypeWrapInput &in, llvm::StringRef tag);

} // namespace dsu
