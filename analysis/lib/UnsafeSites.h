// The safety verdicts for one patch: what it must not meet (update points,
// kernel frames), computed from the running program's manifests and the
// patch's change set (functions it replaces, types it changes).
#pragma once

#include "Program.h"

#include <set>
#include <string>
#include <vector>

namespace dsu::safety {

struct Unsafe {
  enum Kind { Point = 1, Frame = 2 } kind;
  std::string where;  // Point: "file:line"; Frame: function name
  std::string callee; // Frame: callee name at the call site, "*" (an indirect call) or "?" (anywhere)
  unsigned flags = 0; // Frame: kFrame* below
  std::string why;    // Point: the reason; Frame: a short one
};
inline constexpr unsigned kFrameType = 1;   // old code after the site uses a changed type concretely
inline constexpr unsigned kFramePrior = 2;  // the change set meets what ran before the site
inline constexpr unsigned kFrameFuture = 4; // the change set meets what may run after it
inline constexpr unsigned kFrameTxRoot = 8; // the function is a transaction

// `change`: item names ("tu:name", "tu:struct T"); unknown ones are ignored.
std::vector<Unsafe> unsafeSites(Program &p, const std::set<std::string> &change);

} // namespace dsu::safety
