// The C text that follows a wrapped type's representation (struct
// __dsu_rep_T_<version>): the wrapper with the original tag (version, tag
// and the union of representation and slop), its type descriptor (or, when
// pinned, the running program's), the accessors __dsu_con_T (writes)
// and __dsu_conr_T (reads), and __dsu_mark_T for fresh local instances.
#pragma once

#include <cstdint>
#include <string>

namespace dsu {

struct PinnedWrap; // TypeWrapping.h

// The least alignment of a wrapped type's union (see wrapTypes).
constexpr uint64_t kUnionAlign = 8;

struct WrapperSpec {
  std::string tag;      // T
  std::string rep;      // __dsu_rep_T_<version>
  unsigned version = 0; // the version the unit's code is compiled for
  std::string tagValue; // the instances' __dsu_tag, as a C constant (typeTag)
  const PinnedWrap *pinned = nullptr;  // the running program's wrapping, if pinned
  unsigned typeSlop = 0;                // bytes the type may grow by in place
  bool kernel = false;                  // descriptors without a section of their own
};

std::string wrapperText(const WrapperSpec &w);

} // namespace dsu
