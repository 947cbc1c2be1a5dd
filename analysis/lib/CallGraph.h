// Walks over the linked call graph (Program::callees, or the callers the
// effects keep), shared by the effect computations.
#pragma once

#include "Program.h"

#include <deque>
#include <functional>
#include <vector>

namespace dsu::safety {

// Components of the call graph restricted to the calls into functions t
// with follow(t), callees' components first (Tarjan's algorithm, iterative:
// kernel call chains are deep).
void forEachComponent(const Program &p, const std::function<bool(int)> &follow,
                      const std::function<void(const std::vector<int> &)> &component);

// Visits the functions reachable from `from` (itself included) breadth
// first: visit(f) for each, then neighbours(f, push) names the next ones by
// push(g). Stops when visit returns true, and returns whether it did.
// `seen` (one entry per function, all 0) marks the functions reached.
template <class Visit, class Neighbours>
bool breadthFirst(int from, std::vector<char> &seen, Visit visit, Neighbours neighbours) {
  std::deque<int> queue{from};
  seen[from] = 1;
  auto push = [&](int g) {
    if (!seen[g]) {
      seen[g] = 1;
      queue.push_back(g);
    }
  };
  while (!queue.empty()) {
    int f = queue.front();
    queue.pop_front();
    if (visit(f))
      return true;
    neighbours(f, push);
  }
  return false;
}

} // namespace dsu::safety
