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

// A wrapping fixed from outside the unit: the layout instances already have
// in a running program. dsu-patchgen pins every type the running program
// wraps, so that the patch code's view matches the instances.
struct PinnedWrap {
  unsigned version = 0;        // the version the unit's code is compiled for
  unsigned long unionSize = 0; // the instances' union: the wrapper keeps its size
  std::string descExpr;        // a `struct __dsu_type_desc *` expression (the running descriptor)
  std::string after;           // text to place right after the wrapper (an old representation ...)
};

struct TypeWrapInput {
  clang::ASTContext &ctx;
  clang::Rewriter &rw;
  // Location in the edited text of an AST token location (invalid if none).
  std::function<clang::SourceLocation(clang::SourceLocation)> edit;
  const RewriteOptions &opts;
  // Pinned (dsu-patchgen): exactly these types (by tag) are wrapped, as
  // given, whatever the policy says; no descriptors are emitted.
  const std::map<std::string, PinnedWrap> *pinned = nullptr;
  // Patch mode: functions and variables whose text the patch drops; uses in
  // them are not edited.
  std::function<bool(const clang::Decl *)> skip;
};

// Decides, records (in `types`) and edits. Returns the text to append at the
// end of the unit (descriptors), empty when nothing was wrapped.
std::string wrapTypes(TypeWrapInput in, std::vector<TypeRecord> &types, bool &wrappedAny);

} // namespace dsu
