// A unit's snapshot: what a version of it defines, read from its AST.
#pragma once

#include "UnitRecords.h"

#include <functional>
#include <set>
#include <string>

namespace clang {
class ASTContext;
}

namespace dsu {

// `transformerFile`: the presumed file of merged user transformers, left out.
// `shadowed`: struct tags whose definitions count wherever they are (headers).
// `fromChangedHeader`: whether a presumed file is a header that changed: its
// definitions are compared like the unit's own. Of other headers only the
// calls of inline functions are kept (a change reaches callers through them).
UnitSnapshot snapshotUnit(clang::ASTContext &ctx, const std::string &transformerFile = "",
                          const std::set<std::string> &shadowed = {},
                          const std::function<bool(const std::string &)> &fromChangedHeader = {});

} // namespace dsu
