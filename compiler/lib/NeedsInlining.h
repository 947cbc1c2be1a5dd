// Functions of a unit that must stay inlinable (reason needs_inlining): they
// compile or link only when the compiler inlines them into their callers or
// drops them, so moving their body behind a pointer would break the build.
//   - a live call of a compile-time assertion (BUILD_BUG: a function with
//     __attribute__((error))) that folds away only with the caller's
//     arguments or with functions of the unit deciding its guard inlined
//     (not in a function emitted out of line in the plain build too: an
//     external one, or one whose address escapes);
//   - a static function with a single call site whose caller's arguments
//     fold away its references to symbols the configuration does not build.
#pragma once

#include "FunctionUses.h"

#include <clang/AST/ASTContext.h>

#include <map>
#include <string>

namespace dsu {

struct RewriteOptions;

// Each such function (canonical declaration) with why; includes the ones
// opts.needsInlining names (found when an earlier attempt failed to compile).
// `uses`: functionUses(ctx).
std::map<const clang::FunctionDecl *, std::string>
functionsNeedingInlining(clang::ASTContext &ctx, const RewriteOptions &opts,
                         const std::map<const clang::FunctionDecl *, FunctionUse> &uses);

} // namespace dsu
