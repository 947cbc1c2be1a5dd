// Type wrapping: the data half of the rewrite (runtime/include/dsu/abi.h,
// "Wrapped types"). A selected struct T defined in the unit's own source
// becomes a version-0 representation plus a wrapper with the original tag
// (version field, union of the representation and slop), and every concrete
// use in the unit goes through the accessor __dsu_con_T:
//   e.f / p->f        -> __dsu_con_T(&(e))->f / __dsu_con_T(p)->f
//   { ... } of type T -> { DSU_TYPE_MAGIC, { .__dsu_data = { ... } } }
//   offsetof(T, f)    -> offsetof(T, __dsu_u.__dsu_data.f)
// sizeof, copies, arrays and pointers keep working on the wrapper.
// Types that cannot be wrapped keep their layout and get a reason.
#pragma once

#include "ASTUtils.h"
#include "Hashing.h"
#include "RewriteRecords.h"

#include <functional>
#include <map>

namespace clang {
class ASTContext;
class Decl;
class Expr;
class MemberExpr;
class Rewriter;
class SourceLocation;
} // namespace clang

namespace dsu {

struct PatchTypeWrap; // PatchTypeWrap.h: patch mode

struct TypeWrapInput {
  clang::ASTContext &ctx;
  clang::Rewriter &rw;
  // Location in the edited text of an AST token location (invalid if none).
  std::function<clang::SourceLocation(clang::SourceLocation)> edit;
  const RewriteOptions &opts;
  // Patch mode (dsu-patchgen): exactly these types (by tag) are wrapped, in
  // the given version, whatever the policy says; no descriptors are emitted.
  const std::map<std::string, PatchTypeWrap> *patchTypes = nullptr;
  // Patch mode: functions and variables whose text the patch drops; uses in
  // them are not edited.
  std::function<bool(const clang::Decl *)> skip;
};

// Decides, records (in `types`) and edits. Returns the text to append at the
// end of the unit (descriptors), empty when nothing was wrapped.
std::string wrapTypes(TypeWrapInput in, std::vector<TypeRecord> &types, bool &wrappedAny);

} // namespace dsu
