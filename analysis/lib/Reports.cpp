// The JSON documents dsu-analyze prints (docs/safety.md): the unsafe table
// of a patch (dsu-unsafe/1) and restrictions.json (dsu-restrictions/1).
#include "Reports.h"
#include "Effects.h"

#include <algorithm>
#include <cstdlib>

namespace dsu::safety {

using nlohmann::json;

namespace {

json setJson(const Analysis &a, const Bits &b) {
  return {{"functions", a.names(b, 'f')}, {"types", a.names(b, 't')}, {"globals", a.names(b, 'g')}};
}

// The transaction functions that may enclose f (f itself included).
std::vector<int> enclosingTransactions(const Program &p, const Analysis &a, int f) {
  std::vector<int> out;
  for (size_t x = 0; x < p.functions.size(); ++x)
    if (!p.functions[x].transaction.empty() &&
        (static_cast<int>(x) == f || a.reaches(static_cast<int>(x), f)))
      out.push_back(static_cast<int>(x));
  return out;
}

} // namespace

json unsafeJson(const std::vector<Unsafe> &unsafe, const std::set<std::string> &change) {
  json points = json::array(), frames = json::array();
  for (const Unsafe &u : unsafe) {
    if (u.kind == Unsafe::Point) {
      points.push_back({{"where", u.where}, {"why", u.why}});
      continue;
    }
    json flags = json::array();
    for (auto [bit, name] : {std::pair{DSU_FRAME_TYPE, "type"}, std::pair{DSU_FRAME_PRIOR, "prior"},
                             std::pair{DSU_FRAME_FUTURE, "future"},
                             std::pair{DSU_FRAME_TXROOT, "transaction"}})
      if (u.flags & bit)
        flags.push_back(name);
    frames.push_back({{"function", u.where}, {"callee", u.callee}, {"flags", flags}, {"why", u.why}});
  }
  return {{"schema", "dsu-unsafe/1"}, {"change_set", change}, {"points", points}, {"frames", frames}};
}

json restrictionsJson(Program &p) {
  bool kernel = p.mode == "kernel";
  // The kernel's sets range over its wrapped types only: a bit per item for
  // every function would be functions x items bits (hundreds of thousands
  // squared). What a system call reaches is counted by a walk instead.
  std::set<int> universe;
  if (kernel)
    for (size_t i = 0; i < p.items.size(); ++i)
      if (p.itemKind[i] == 't')
        universe.insert(static_cast<int>(i));
  Analysis a(p, universe);
  std::vector<unsigned> seenF(p.functions.size(), 0), seenG(p.items.size(), 0);
  unsigned walk = 0;
  auto reached = [&](int x) {
    ++walk;
    size_t nf = 0, ng = 0;
    std::vector<int> stack{x};
    seenF[x] = walk;
    while (!stack.empty()) {
      int f = stack.back();
      stack.pop_back();
      ++nf;
      for (const Event &e : p.functions[f].events)
        if (e.kind == Event::Global && e.item >= 0 && seenG[e.item] != walk) {
          seenG[e.item] = walk;
          ++ng;
        }
      for (int c : p.functions[f].callees)
        if (seenF[c] != walk) {
          seenF[c] = walk;
          stack.push_back(c);
        }
    }
    return std::make_pair(nf, ng);
  };
  json points = json::array(), txs = json::array();
  for (size_t f = 0; f < p.functions.size(); ++f) {
    const Function &fn = p.functions[f];
    int fi = static_cast<int>(f);
    if (!fn.transaction.empty()) {
      const Bits &e = a.effect(fi);
      json fx;
      if (kernel) {
        auto [nf, ng] = reached(fi);
        fx = {{"types", a.names(e, 't')}, {"functions", nf}, {"globals", ng}};
      } else {
        fx = setJson(a, e);
      }
      txs.push_back({{"function", fn.name}, {"tu", fn.tu}, {"file", fn.file}, {"line", fn.line},
                     {"kind", fn.transaction}, {"effects", fx}});
    }
    for (size_t ev = 0; ev < fn.events.size(); ++ev) {
      if (fn.events[ev].kind != Event::Point)
        continue;
      int ei = static_cast<int>(ev);
      Bits after = a.restrictedAfterPoint(fi, ei);
      json inTx = json::array();
      for (int x : enclosingTransactions(p, a, fi)) {
        auto [pr, fu] = a.aroundPointInTx(x, fi, ei);
        inTx.push_back({{"transaction", p.functions[x].tu + ":" + p.functions[x].name},
                        {"prior", setJson(a, pr)},
                        {"future", setJson(a, fu)}});
      }
      points.push_back({{"where", fn.events[ev].name},
                        {"function", fn.name},
                        {"tu", fn.tu},
                        {"restricted", setJson(a, after)},
                        {"transactions", inTx}});
    }
  }
  auto whereKey = [](const json &pt) {
    std::string w = pt.at("where").get<std::string>();
    size_t colon = w.rfind(':');
    return std::make_pair(w.substr(0, colon), std::atoi(w.c_str() + colon + 1));
  };
  std::stable_sort(points.begin(), points.end(),
                   [&](const json &a, const json &b) { return whereKey(a) < whereKey(b); });
  size_t icallSites = 0;
  for (const Function &fn : p.functions)
    for (const Event &e : fn.events)
      icallSites += e.kind == Event::ICall;
  return {{"schema", "dsu-restrictions/1"},
          {"mode", p.mode},
          {"indirect_calls", "signature"},
          {"summary",
           {{"functions", p.functions.size()},
            {"points", points.size()},
            {"transactions", txs.size()},
            {"indirect_call_sites", icallSites}}},
          {"points", points},
          {"transactions", txs}};
}

} // namespace dsu::safety
