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

#include "Indirection.h"

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

// dsu-patchgen: how the running program wraps a type the patch code uses.
struct PatchTypeWrap {
  unsigned version = 0;        // the version the patch code is compiled for
  unsigned long unionSize = 0; // the running instances' union: the wrapper keeps its size
  std::string descExpr;        // a `struct __dsu_type_desc *` expression (a reference slot)
  std::string after;           // text to place right after the wrapper (old representation ...)
};

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

// The member accesses an lvalue reaches its storage through, outermost
// first: `p->a.b[i]` gives b, then a; it stops after an arrow (a pointer is
// loaded there) and at a subscript of a pointer. Used for writes (which
// accessor) and for taken addresses (which fields may not move).
void forEachMemberOnPath(const clang::Expr *lvalue,
                         const std::function<void(const clang::MemberExpr *)> &fn);

// The free family: calls that release the object their argument points to
// (free, kfree, kvfree, vfree, kfree_sensitive, kmem_cache_free).
bool isFreeFunction(llvm::StringRef name);

// What the __dsu_tag of an instance of `name` ("struct T") of unit `tu`
// holds: FNV-1a over tu, a 0 byte and name, as the runtime's dsu_core_hash
// (which checks descriptors against it).
unsigned typeTag(llvm::StringRef tu, llvm::StringRef name);

// Decides, records (in `types`) and edits. Returns the text to append at the
// end of the unit (descriptors), empty when nothing was wrapped.
std::string wrapTypes(TypeWrapInput in, std::vector<TypeRecord> &types, bool &wrappedAny);

} // namespace dsu
