// A unit's snapshot: what a version of it defines, read from its AST.
#pragma once

#include "UnitRecords.h"

#include <set>
#include <string>

namespace clang {
class ASTContext;
}

namespace dsu {

// `transformerFile`: the presumed file of merged user transformers, left out.
// `shadowed`: struct tags whose definitions count wherever they are (headers).
UnitSnapshot snapshotUnit(clang::ASTContext &ctx, const std::string &transformerFile = "",
                          const std::set<std::string> &shadowed = {});

} // namespace dsu
