// Effects over the program (docs/safety.md): a function's effect E(f) is f
// itself, what its body touches, and E of everything it may call; per call
// site, update point and transaction, the effects before and after it.
#pragma once

#include "Program.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dsu::safety {

// A set of items over a chosen universe (all items, or a patch's change set).
using Bits = std::vector<uint64_t>;

class Analysis {
public:
  // `universe`: the items the sets range over (empty: all of them).
  Analysis(const Program &p, const std::set<int> &universe = {});

  // Effects of one site (event index `ev` of function `f`), within f,
  // callees' whole effects included.
  Bits future(int f, int ev) const; // after the event returns
  // Stoyle et al.'s restriction after the event: what the *old* code may
  // still do: its own concrete type uses, the types whose members' addresses
  // it passes, functions and globals it names, and the old code of
  // non-updateable callees (an updateable callee runs its new version).
  Bits oldFuture(int f, int ev) const;
  Bits oldEventBits(const Event &e) const; // one event, as oldFuture counts it
  Bits prior(int f, int ev) const;  // before it, f itself included
  Bits during(int f, int ev) const; // types whose members' addresses it passes
  // What may run after f returns, over every caller (Stoyle's restriction
  // for points inside f).
  const Bits &continuation(int f);
  // Prior/future of transaction function x around f (f reached from x):
  // what x may have done before f was called and may do after it returns.
  Bits txPrior(int x, int f);
  Bits txFuture(int x, int f);
  // At update point `ev` of f: Stoyle's restriction, what the old code may
  // still do after it (oldFuture and the continuation); and (prior, future)
  // of the point within transaction x (f itself, or a function reaching f).
  Bits restrictedAfterPoint(int f, int ev);
  std::pair<Bits, Bits> aroundPointInTx(int x, int f, int ev);
  bool reaches(int from, int to) const; // call graph
  const Bits &effect(int f) const { return effect_[f]; }

  std::vector<std::string> names(const Bits &b, char kind) const;
  bool intersects(const Bits &a, const Bits &b) const;
  Bits empty() const { return Bits(words_, 0); }
  void add(Bits &b, int item) const;
  void merge(Bits &into, const Bits &from) const;
  Bits ofItems(const std::set<int> &items) const;

private:
  void computeEffects();
  Bits eventBits(int f, const Event &e) const;
  Bits after(int f, int ev, bool old) const;

  const Program &p_;
  std::vector<int> slot_; // item -> bit, or -1 outside the universe
  std::vector<int> itemOfSlot_;
  size_t words_ = 0;
  std::vector<Bits> effect_;
  std::vector<Bits> oldEffect_; // what calling f runs as old code: f non-updateable
  std::vector<std::vector<std::pair<int, int>>> callers_; // f -> (caller, event)
  std::map<int, Bits> cont_;
  // Per function: each event's bits (full, old) and, per block, what the
  // blocks after / before it do (a dataflow fixpoint over the CFG).
  struct Flow {
    std::vector<Bits> evFull, evOld, futFull, futOld, pri;
  };
  mutable std::map<int, Flow> flow_;
  const Flow &flow(int f) const;
  std::map<std::pair<int, int>, std::pair<Bits, Bits>> tx_;
  void computeTx(int x);
};

} // namespace dsu::safety
