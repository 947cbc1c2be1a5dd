// The effect sets (docs/safety.md): E(f) over the call graph's components,
// per-function dataflow over the CFG for what runs before and after an
// event, the continuation of a function over its callers (Stoyle's
// restriction) and the prior/future of a transaction around a function.
#include "Effects.h"
#include "CallGraph.h"

#include <algorithm>
#include <functional>

namespace dsu::safety {

Analysis::Analysis(const Program &p, const std::set<int> &universe) : p_(p) {
  slot_.assign(p.items.size(), -1);
  for (size_t i = 0; i < p.items.size(); ++i)
    if (universe.empty() || universe.count(static_cast<int>(i))) {
      slot_[i] = static_cast<int>(itemOfSlot_.size());
      itemOfSlot_.push_back(static_cast<int>(i));
    }
  words_ = (itemOfSlot_.size() + 63) / 64;
  callers_.resize(p.functions.size());
  for (size_t f = 0; f < p.functions.size(); ++f)
    for (size_t ev = 0; ev < p.functions[f].events.size(); ++ev)
      for (int t : p.functions[f].events[ev].targets)
        callers_[t].emplace_back(static_cast<int>(f), static_cast<int>(ev));
  computeEffects();
}

void Analysis::add(Bits &b, int item) const {
  if (item >= 0 && slot_[item] >= 0)
    b[slot_[item] / 64] |= uint64_t(1) << (slot_[item] % 64);
}

void Analysis::merge(Bits &into, const Bits &from) const {
  for (size_t i = 0; i < words_; ++i)
    into[i] |= from[i];
}

bool Analysis::intersects(const Bits &a, const Bits &b) const {
  for (size_t i = 0; i < words_; ++i)
    if (a[i] & b[i])
      return true;
  return false;
}

Bits Analysis::ofItems(const std::set<int> &items) const {
  Bits b = empty();
  for (int i : items)
    add(b, i);
  return b;
}

std::vector<std::string> Analysis::names(const Bits &b, char kind) const {
  std::vector<std::string> out;
  for (size_t s = 0; s < itemOfSlot_.size(); ++s)
    if (b[s / 64] >> (s % 64) & 1) {
      int item = itemOfSlot_[s];
      if (p_.itemKind[item] == kind)
        out.push_back(p_.items[item]);
    }
  std::sort(out.begin(), out.end());
  return out;
}

// E(f) for every function, over the call graph's components: each
// component's effect is the union of its members' own effects and its
// callees' components. The old effect (what calling f runs as old code) is
// the same over the calls into non-updateable functions only: a component
// of the whole graph may hold updateable functions (through indirect calls
// most of the kernel is one), whose own uses are new code after an update.
void Analysis::computeEffects() {
  size_t n = p_.functions.size();
  auto effectsOver = [&](std::vector<Bits> &into, const std::function<bool(int)> &follow) {
    into.assign(n, empty());
    std::vector<int> comp(n, -1);
    int ncomp = 0;
    forEachComponent(p_, follow, [&](const std::vector<int> &members) {
      Bits e = empty();
      for (int mem : members)
        comp[mem] = ncomp;
      for (int mem : members) {
        const Function &fn = p_.functions[mem];
        add(e, fn.item);
        for (const Event &ev : fn.events) {
          add(e, ev.item);
          for (int t : ev.targets) {
            add(e, p_.functions[t].item);
            if (follow(t) && comp[t] != ncomp)
              merge(e, into[t]);
          }
          for (int d : ev.during)
            add(e, d);
        }
      }
      for (int mem : members)
        into[mem] = e;
      ++ncomp;
    });
  };
  effectsOver(effect_, [](int) { return true; });
  effectsOver(oldEffect_, [&](int t) { return !p_.functions[t].updateable; });
}

Bits Analysis::eventBits(int f, const Event &e) const {
  Bits b = empty();
  add(b, e.item);
  for (int t : e.targets) {
    add(b, p_.functions[t].item);
    merge(b, effect_[t]);
  }
  return b;
}

Bits Analysis::oldEventBits(const Event &e) const {
  Bits b = empty();
  add(b, e.item);
  for (int t : e.targets) {
    add(b, p_.functions[t].item);
    if (!p_.functions[t].updateable)
      merge(b, oldEffect_[t]);
  }
  for (int d : e.during)
    add(b, d);
  return b;
}

Bits Analysis::future(int f, int ev) const { return after(f, ev, false); }
Bits Analysis::oldFuture(int f, int ev) const { return after(f, ev, true); }

const Analysis::Flow &Analysis::flow(int f) const {
  if (auto it = flow_.find(f); it != flow_.end())
    return it->second;
  const Function &fn = p_.functions[f];
  size_t nb = std::max<size_t>(fn.succ.size(), 1);
  Flow fl;
  std::vector<Bits> blockFull(nb, empty()), blockOld(nb, empty());
  for (const Event &e : fn.events) {
    fl.evFull.push_back(eventBits(f, e));
    fl.evOld.push_back(oldEventBits(e));
    merge(blockFull[e.block], fl.evFull.back());
    merge(blockOld[e.block], fl.evOld.back());
  }
  std::vector<std::vector<unsigned>> pred(nb);
  for (unsigned b = 0; b < fn.succ.size(); ++b)
    for (unsigned s : fn.succ[b])
      if (s < nb)
        pred[s].push_back(b);
  fl.futFull.assign(nb, empty());
  fl.futOld.assign(nb, empty());
  fl.pri.assign(nb, empty());
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = nb; i-- > 0;) {
      Bits ff = fl.futFull[i], fo = fl.futOld[i], pr = fl.pri[i];
      if (i < fn.succ.size())
        for (unsigned s : fn.succ[i])
          if (s < nb) {
            merge(ff, blockFull[s]);
            merge(ff, fl.futFull[s]);
            merge(fo, blockOld[s]);
            merge(fo, fl.futOld[s]);
          }
      for (unsigned pb : pred[i]) {
        merge(pr, blockFull[pb]);
        merge(pr, fl.pri[pb]);
      }
      if (ff != fl.futFull[i] || fo != fl.futOld[i] || pr != fl.pri[i]) {
        fl.futFull[i] = std::move(ff);
        fl.futOld[i] = std::move(fo);
        fl.pri[i] = std::move(pr);
        changed = true;
      }
    }
  }
  return flow_.emplace(f, std::move(fl)).first->second;
}

Bits Analysis::after(int f, int ev, bool old) const {
  const Function &fn = p_.functions[f];
  const Flow &fl = flow(f);
  unsigned block = fn.events[ev].block;
  Bits out = old ? fl.futOld[block] : fl.futFull[block];
  for (size_t j = ev + 1; j < fn.events.size(); ++j)
    if (fn.events[j].block == block)
      merge(out, old ? fl.evOld[j] : fl.evFull[j]);
  return out;
}

Bits Analysis::prior(int f, int ev) const {
  const Function &fn = p_.functions[f];
  const Flow &fl = flow(f);
  unsigned block = fn.events[ev].block;
  Bits out = fl.pri[block];
  add(out, fn.item);
  for (int j = 0; j < ev; ++j)
    if (fn.events[j].block == block)
      merge(out, fl.evFull[j]);
  return out;
}

Bits Analysis::during(int f, int ev) const {
  Bits out = empty();
  for (int d : p_.functions[f].events[ev].during)
    add(out, d);
  return out;
}

// The callees of f, as breadthFirst() asks for them.
static auto calleesOf(const Program &p) {
  return [&p](int f, const auto &push) {
    for (int c : p.functions[f].callees)
      push(c);
  };
}

bool Analysis::reaches(int from, int to) const {
  std::vector<char> seen(p_.functions.size(), 0);
  return breadthFirst(from, seen, [to](int f) { return f == to; }, calleesOf(p_));
}

// cont(f) = union over call sites c of f (in g): oldFuture(c) + during(c) + cont(g),
// the least fixed point over f's callers, their callers, ...
const Bits &Analysis::continuation(int f) {
  if (auto it = cont_.find(f); it != cont_.end())
    return it->second;
  std::vector<int> closure;
  std::vector<char> seen(p_.functions.size(), 0);
  breadthFirst(
      f, seen,
      [&](int g) {
        closure.push_back(g);
        return false;
      },
      [&](int g, const auto &push) {
        for (auto [caller, ev] : callers_[g])
          push(caller);
      });
  std::map<int, Bits> cur; // starts at the call sites' own part
  for (int g : closure) {
    Bits b = empty();
    for (auto [caller, ev] : callers_[g]) {
      merge(b, oldFuture(caller, ev));
      merge(b, during(caller, ev));
    }
    cur[g] = b;
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (int g : closure) {
      Bits b = cur[g];
      for (auto [caller, ev] : callers_[g])
        if (auto it = cont_.find(caller); it != cont_.end())
          merge(b, it->second);
        else
          merge(b, cur[caller]);
      if (b != cur[g]) {
        cur[g] = std::move(b);
        changed = true;
      }
    }
  }
  for (auto &[g, b] : cur)
    cont_.emplace(g, std::move(b));
  return cont_.at(f);
}

// For transaction x: per function f reached from x, what x's computation may
// have done before f was called (P) and may do after f returns (F).
void Analysis::computeTx(int x) {
  std::vector<char> inside(p_.functions.size(), 0);
  std::vector<int> members;
  breadthFirst(
      x, inside,
      [&](int g) {
        members.push_back(g);
        return false;
      },
      calleesOf(p_));
  // The call sites' own part, computed once; the fixpoint adds the callers'.
  std::map<int, std::pair<Bits, Bits>> site, cur;
  for (int g : members) {
    Bits pr = empty(), fu = empty();
    for (auto [caller, ev] : callers_[g]) {
      if (!inside[caller])
        continue;
      merge(pr, prior(caller, ev));
      merge(fu, future(caller, ev));
      merge(fu, during(caller, ev));
    }
    site[g] = {pr, fu};
    cur[g] = {empty(), empty()};
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (int g : members) {
      if (g == x)
        continue;
      Bits pr = site[g].first, fu = site[g].second;
      for (auto [caller, ev] : callers_[g]) {
        if (!inside[caller])
          continue;
        if (caller != x) {
          merge(pr, cur[caller].first);
          merge(fu, cur[caller].second);
        }
      }
      if (pr != cur[g].first || fu != cur[g].second) {
        cur[g] = {std::move(pr), std::move(fu)};
        changed = true;
      }
    }
  }
  for (auto &[g, pf] : cur)
    tx_[{x, g}] = std::move(pf);
}

Bits Analysis::txPrior(int x, int f) {
  if (!tx_.count({x, x}))
    computeTx(x);
  auto it = tx_.find({x, f});
  return it == tx_.end() ? empty() : it->second.first;
}

Bits Analysis::restrictedAfterPoint(int f, int ev) {
  Bits after = oldFuture(f, ev);
  merge(after, continuation(f));
  return after;
}

std::pair<Bits, Bits> Analysis::aroundPointInTx(int x, int f, int ev) {
  Bits pr = prior(f, ev), fu = future(f, ev);
  if (x != f) {
    merge(pr, txPrior(x, f));
    merge(fu, txFuture(x, f));
  }
  return {std::move(pr), std::move(fu)};
}

Bits Analysis::txFuture(int x, int f) {
  if (!tx_.count({x, x}))
    computeTx(x);
  auto it = tx_.find({x, f});
  return it == tx_.end() ? empty() : it->second.second;
}

} // namespace dsu::safety
