// The safety verdicts for one patch: what it must not meet (update points,
// kernel frames), computed from the running program's manifests and the
// patch's change set (functions it replaces, types it changes).
#pragma once

#include "Program.h"
#include "dsu/abi.h" // DSU_UNSAFE_*, DSU_FRAME_*: the patch table carries them as they are

#include <set>
#include <string>
#include <vector>

namespace dsu::safety {

struct Unsafe {
  enum Kind { Point = DSU_UNSAFE_POINT, Frame = DSU_UNSAFE_FRAME } kind;
  std::string where;  // Point: "file:line"; Frame: function name
  std::string callee; // Frame: callee name at the call site, "*" (an indirect call) or "?" (anywhere)
  unsigned flags = 0; // Frame: DSU_FRAME_* (dsu/abi.h)
  std::string why;    // Point: the reason; Frame: a short one
};

// `change`: item names ("tu:name", "tu:struct T"); unknown ones are ignored.
std::vector<Unsafe> unsafeSites(Program &p, const std::set<std::string> &change);

} // namespace dsu::safety
