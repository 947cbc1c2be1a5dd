// The safety verdicts for one patch (docs/safety.md): update points where
// the old code may still use a changed type, or inside a transaction that
// meets the change set before and after the point; and, in the kernel, per
// function and call site, the frames an update must not find on a stack.
#include "UnsafeSites.h"
#include "Effects.h"

#include <fmt/format.h>
#include <functional>
#include <map>

namespace dsu::safety {

namespace {

// "a, b, c, d and 3 more": names in a verdict's text, four at the most.
std::string joinNames(const std::vector<std::string> &v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 4; ++i)
    out += (i ? ", " : "") + v[i];
  if (v.size() > 4)
    out += fmt::format(" and {} more", v.size() - 4);
  return out;
}

// Where f's old code uses type item `type`: f itself, or the chain of
// non-updateable callees (they stay old code) down to the function that
// does, as "f -> g -> h". Empty if none does.
std::string oldUseChain(const Program &p, int f, int type) {
  std::map<int, int> parent{{f, -1}};
  std::vector<int> queue{f};
  for (size_t i = 0; i < queue.size(); ++i) {
    int g = queue[i];
    for (const Event &e : p.functions[g].events) {
      bool uses = e.item == type;
      for (int d : e.during)
        uses = uses || d == type;
      if (uses) {
        std::vector<std::string> chain;
        for (int x = g; x >= 0; x = parent[x])
          chain.push_back(p.functions[x].name);
        std::string out;
        for (auto it = chain.rbegin(); it != chain.rend(); ++it)
          out += (out.empty() ? "" : " -> ") + *it;
        return out;
      }
      for (int t : e.targets)
        if (!p.functions[t].updateable && parent.emplace(t, g).second)
          queue.push_back(t);
    }
  }
  return "";
}

// "f uses T concretely[ after the call]", and where in f's old callees it
// is used when f itself does not.
std::string concreteUseText(const Program &p, int f, const std::vector<std::string> &types,
                            const char *when = "") {
  std::string text =
      fmt::format("{} uses {} concretely{}", p.functions[f].name, joinNames(types), when);
  auto it = p.itemIndex.find(types.front());
  if (it == p.itemIndex.end())
    return text;
  std::string chain = oldUseChain(p, f, it->second);
  if (chain.find(" -> ") != std::string::npos)
    text += fmt::format(" (through old code: {})", chain);
  return text;
}

} // namespace

std::vector<Unsafe> unsafeSites(Program &p, const std::set<std::string> &change) {
  std::set<int> universe;
  for (const std::string &c : change)
    if (auto it = p.itemIndex.find(c); it != p.itemIndex.end())
      universe.insert(it->second);
  std::vector<Unsafe> out;
  if (universe.empty())
    return out;
  Analysis a(p, universe);
  Bits all = a.ofItems(universe);
  std::vector<int> transactions;
  for (size_t x = 0; x < p.functions.size(); ++x)
    if (!p.functions[x].transaction.empty())
      transactions.push_back(static_cast<int>(x));

  // One call site's frame flags, computed once (inline chains revisit them).
  struct SiteFlags {
    unsigned flags = 0;
    std::string why;
  };
  std::map<std::pair<int, int>, SiteFlags> siteMemo;
  auto siteFlags = [&](int g, int ev) -> const SiteFlags & {
    auto [it, fresh] = siteMemo.try_emplace({g, ev});
    if (!fresh)
      return it->second;
    Bits fu = a.future(g, ev), pr = a.prior(g, ev);
    Bits fd = a.oldFuture(g, ev);
    a.merge(fd, a.during(g, ev));
    std::vector<std::string> types = a.names(fd, 't');
    if (!types.empty()) {
      it->second.flags |= DSU_FRAME_TYPE;
      it->second.why = concreteUseText(p, g, types, " after the call");
    }
    if (a.intersects(pr, all))
      it->second.flags |= DSU_FRAME_PRIOR;
    if (a.intersects(fu, all))
      it->second.flags |= DSU_FRAME_FUTURE;
    return it->second;
  };

  // A kernel frame of g is identified by the function of the next inner
  // frame: a callee of g, or, when the compiler inlined a non-updateable
  // callee t of the same unit into g (calls of updateable functions go
  // through pointers and are never inlined), a callee of t, and so on. Such
  // a frame's flags are those of the whole chain of call sites. callKeys(g):
  // every such key with its flags (zero too: a key without a rule makes the
  // runtime fall back to the function's "?" rule).
  std::map<int, std::map<std::string, SiteFlags>> keyMemo;
  std::set<int> keyBusy; // recursion among inlinable functions
  std::function<const std::map<std::string, SiteFlags> &(int)> callKeys =
      [&](int g) -> const std::map<std::string, SiteFlags> & {
    if (auto it = keyMemo.find(g); it != keyMemo.end())
      return it->second;
    std::map<std::string, SiteFlags> keys;
    keyBusy.insert(g);
    const Function &gf = p.functions[g];
    auto add = [&](const std::string &key, unsigned fl, const std::string &why) {
      SiteFlags &k = keys[key];
      k.flags |= fl;
      if ((fl & DSU_FRAME_TYPE) && k.why.empty())
        k.why = why;
    };
    for (size_t ev = 0; ev < gf.events.size(); ++ev) {
      const Event &e = gf.events[ev];
      if (e.kind != Event::Call && e.kind != Event::ICall)
        continue;
      SiteFlags sf = siteFlags(g, static_cast<int>(ev));
      add(e.kind == Event::Call ? e.name : "*", sf.flags, sf.why);
      // At an indirect call the inner frame is one of its possible targets:
      // rules by their names too (a stack does not tell how it was called).
      if (e.kind == Event::ICall) {
        for (int t : e.targets)
          add(p.functions[t].name, sf.flags, sf.why);
        continue;
      }
      if (e.targets.size() != 1)
        continue;
      int t = e.targets[0];
      const Function &tf = p.functions[t];
      if (tf.updateable || tf.tu != gf.tu || keyBusy.count(t))
        continue;
      for (const auto &[key, inner] : callKeys(t))
        add(key, sf.flags | inner.flags, (sf.flags & DSU_FRAME_TYPE) ? sf.why : inner.why);
    }
    keyBusy.erase(g);
    return keyMemo[g] = std::move(keys);
  };

  struct FrameRules {
    std::map<std::string, SiteFlags> byCallee;
    SiteFlags any;
  };
  std::map<std::string, FrameRules> frameRules;

  for (size_t f = 0; f < p.functions.size(); ++f) {
    const Function &fn = p.functions[f];
    int fi = static_cast<int>(f);
    // Update points (user space): Stoyle's restriction, then transactions.
    for (size_t ev = 0; ev < fn.events.size(); ++ev) {
      if (fn.events[ev].kind != Event::Point)
        continue;
      int ei = static_cast<int>(ev);
      Bits after = a.restrictedAfterPoint(fi, ei);
      std::vector<std::string> types = a.names(after, 't');
      if (!types.empty()) {
        out.push_back({Unsafe::Point, fn.events[ev].name, "", 0,
                       fmt::format("the old code may use {} concretely after this point (in {})",
                                   joinNames(types), fn.name)});
        continue;
      }
      for (int x : transactions) {
        if (x != fi && !a.reaches(x, fi))
          continue;
        auto [pr, fu] = a.aroundPointInTx(x, fi, ei);
        if (a.intersects(pr, all) && a.intersects(fu, all)) {
          auto both = [&](const Bits &b) {
            std::vector<std::string> n = a.names(b, 'f'), t = a.names(b, 't');
            n.insert(n.end(), t.begin(), t.end());
            return joinNames(n);
          };
          out.push_back({Unsafe::Point, fn.events[ev].name, "", 0,
                         fmt::format("inside transaction {}: the update changes {}, which it may "
                                     "have run before this point, and {}, which it may run after",
                                     p.functions[x].name, both(pr), both(fu))});
          break;
        }
      }
    }
    // Frames (kernel stacks): per call-site key. Every flag needs the
    // function's effect to meet the change set.
    if (p.mode != "kernel" || !a.intersects(a.effect(fi), all))
      continue;
    std::map<std::string, unsigned> flags;
    std::map<std::string, std::string> why;
    unsigned any = 0;
    Bits anyPrior = a.empty(), anyFuture = a.empty(), anyOld = a.empty();
    a.add(anyPrior, fn.item);
    for (const Event &e : fn.events) {
      Bits eb = a.empty();
      for (int t : e.targets) {
        a.add(eb, p.functions[t].item);
        a.merge(eb, a.effect(t));
      }
      a.add(eb, e.item);
      a.merge(anyPrior, eb);
      a.merge(anyFuture, eb);
      a.merge(anyOld, a.oldEventBits(e));
    }
    for (const auto &[key, site] : callKeys(fi)) {
      flags[key] |= site.flags;
      if ((site.flags & DSU_FRAME_TYPE) && !why.count(key))
        why[key] = site.why;
      any |= site.flags;
    }
    if (!fn.transaction.empty() && a.intersects(a.effect(fi), all))
      any |= DSU_FRAME_TXROOT;
    if (!any)
      continue;
    unsigned tx = fn.transaction.empty() ? 0 : DSU_FRAME_TXROOT;
    FrameRules &r = frameRules[fn.name];
    for (const auto &[key, fl] : flags) {
      SiteFlags &k = r.byCallee[key];
      k.flags |= fl | tx;
      if (k.why.empty() && why.count(key))
        k.why = why[key];
    }
    unsigned anyFl = tx;
    std::vector<std::string> types = a.names(anyOld, 't');
    if (!types.empty())
      anyFl |= DSU_FRAME_TYPE;
    if (a.intersects(anyPrior, all))
      anyFl |= DSU_FRAME_PRIOR;
    if (a.intersects(anyFuture, all))
      anyFl |= DSU_FRAME_FUTURE;
    r.any.flags |= anyFl;
    if (r.any.why.empty() && !types.empty())
      r.any.why = concreteUseText(p, fi, types);
  }
  // The runtime knows frames by name only (kallsyms), so the functions of
  // one name (static functions, header inlines emitted in many units) get
  // one set of rules: each call key's flags over all of them. A key whose
  // flags are the "?" rule's says nothing the fallback does not.
  for (const auto &[name, r] : frameRules) {
    for (const auto &[key, k] : r.byCallee)
      if (k.flags != r.any.flags)
        out.push_back({Unsafe::Frame, name, key, k.flags, k.why});
    out.push_back({Unsafe::Frame, name, "?", r.any.flags, r.any.why});
  }
  return out;
}

} // namespace dsu::safety
