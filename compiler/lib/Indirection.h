// Function indirection: the source-to-source rewrite at the heart of dsu-cc.
//
// Given a parsed translation unit, decides for every function defined in it
// whether it can be made updateable, and for those that can:
//   - renames the definition to __dsu_v0_<f> (internal linkage),
//   - declares __dsu_fp_<f> (same linkage as f) initialised to that body,
//     right after f's first file-scope declaration,
//   - appends a stub <f> with the original head that calls through the
//     pointer, and a struct __dsu_func_desc describing all of it,
//   - makes every direct call to <f> in instrumented code go through the
//     pointer.
// Calls to functions defined in other units reach the other unit's stub,
// which jumps through that unit's pointer.
//
// All inserted text stays on existing lines so that line markers of a
// preprocessed unit keep diagnostics pointing at the original files.
#pragma once

#include "RewriteRecords.h"

namespace clang {
class ASTContext;
}

namespace dsu {

RewriteResult rewriteTranslationUnit(clang::ASTContext &ctx, const RewriteOptions &opts);

} // namespace dsu
