#include "Safety.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <functional>
#include <fstream>

namespace dsu::safety {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- the program ---------------------------------------------------------

void Program::load(const std::vector<std::string> &dirs, std::vector<std::string> &errors) {
  std::vector<std::string> paths;
  for (const std::string &d : dirs) {
    std::error_code ec;
    if (fs::is_regular_file(d, ec)) {
      paths.push_back(d);
      continue;
    }
    if (!fs::is_directory(d, ec)) {
      errors.push_back(fmt::format("{}: no such directory", d));
      continue;
    }
    for (auto it = fs::recursive_directory_iterator(d, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec)
        break;
      const std::string p = it->path().string();
      if (p.size() > 9 && p.compare(p.size() - 9, 9, ".dsu.json") == 0 && it->is_regular_file(ec))
        paths.push_back(p);
    }
  }
  std::sort(paths.begin(), paths.end()); // deterministic item order
  for (const std::string &p : paths) {
    std::ifstream in(p);
    json m = json::parse(in, nullptr, false);
    if (m.is_discarded()) {
      errors.push_back(fmt::format("{}: not valid JSON", p));
      continue;
    }
    addManifest(m, p, errors);
  }
}

void Program::addManifest(const json &m, const std::string &path, std::vector<std::string> &errors) {
  if (!m.is_object() || m.value("schema", "") != "dsu-manifest/1") {
    errors.push_back(fmt::format("{}: not a dsu-manifest/1 file", path));
    return;
  }
  try {
    Unit u;
    u.tu = m.value("tu", m.value("source", path));
    if (m.value("mode", "user") == "kernel")
      mode = "kernel";
    int unit = static_cast<int>(units_.size());
    for (const json &t : m.value("types", json::array())) {
      Type ty;
      ty.tu = u.tu;
      ty.name = t.at("name").get<std::string>();
      ty.file = t.value("file", "");
      ty.line = t.value("line", 0u);
      ty.updateable = t.value("updateable", false);
      ty.reason = t.value("reason", "");
      ty.reasonText = t.value("reason_text", "");
      if (ty.updateable)
        u.wrappedTypes.insert(ty.name);
      types.push_back(std::move(ty));
    }
    for (const json &v : m.value("variables", json::array()))
      u.statics.insert(v.at("name").get<std::string>());
    for (const json &f : m.value("functions", json::array())) {
      Function fn;
      fn.tu = u.tu;
      fn.name = f.at("name").get<std::string>();
      if (u.functions.count(fn.name))
        continue; // a .c file included twice
      fn.file = f.value("file", "");
      fn.line = f.value("line", 0u);
      fn.external = f.value("linkage", "") == "external";
      fn.updateable = f.value("updateable", false);
      fn.reason = f.value("reason", "");
      fn.reasonText = f.value("reason_text", "");
      fn.transaction = f.value("transaction", "");
      std::vector<json> raw;
      if (f.contains("effects")) {
        const json &fx = f.at("effects");
        fn.cfg = fx.value("cfg", true);
        fn.entry = fx.value("entry", 0u);
        fn.signature = fx.value("signature", "");
        fn.succ = fx.contains("succ") ? fx.at("succ").get<std::vector<std::vector<unsigned>>>()
                                      : std::vector<std::vector<unsigned>>{{}};
        for (const json &e : fx.at("events"))
          raw.push_back(e);
      } else {
        // An older manifest: nothing known, so everything is possible.
        fn.cfg = false;
        fn.succ = {{0}};
      }
      int idx = static_cast<int>(functions.size());
      u.functions[fn.name] = idx;
      if (fn.external)
        externals_[fn.name].push_back(idx);
      functions.push_back(std::move(fn));
      rawEvents_.push_back(std::move(raw));
      unitOf_.push_back(unit);
    }
    for (const json &a : m.value("address_taken", json::array()))
      addressTaken_.emplace_back(unit, a);
    for (const json &st : m.value("field_stores", json::array()))
      if (st.is_array() && st.size() == 2)
        fieldStores_.emplace_back(unit, std::make_pair(st[0].get<std::string>(), st[1].get<std::string>()));
    for (const json &k : m.value("open_fields", json::array()))
      openFields_.insert(k.get<std::string>());
    // A manifest from before field stores were recorded: every field open.
    if (!m.contains("field_stores"))
      allFieldsOpen_ = true;
    units_.push_back(std::move(u));
  } catch (const json::exception &e) {
    errors.push_back(fmt::format("{}: malformed manifest: {}", path, e.what()));
  }
}

int Program::item(const std::string &name, char kind) {
  auto [it, fresh] = itemIndex.emplace(name, static_cast<int>(items.size()));
  if (fresh) {
    items.push_back(name);
    itemKind.push_back(kind);
  }
  return it->second;
}

std::vector<int> Program::resolve(int unit, const std::string &name) const {
  const Unit &u = units_[unit];
  if (auto it = u.functions.find(name); it != u.functions.end())
    return {it->second};
  if (auto it = externals_.find(name); it != externals_.end())
    return it->second;
  return {};
}

void Program::link() {
  for (Function &f : functions)
    f.item = item(f.tu + ":" + f.name, 'f');
  for (const auto &[unit, a] : addressTaken_) {
    if (!a.is_array() || a.size() < 2)
      continue;
    std::string name = a[0].get<std::string>();
    for (int target : resolve(unit, name))
      bySignature_[a[1].get<std::string>()].insert(target);
  }
  std::map<std::string, std::set<int>> byField;
  for (const auto &[unit, st] : fieldStores_)
    for (int target : resolve(unit, st.second))
      byField[st.first].insert(target);
  for (size_t i = 0; i < functions.size(); ++i) {
    Function &f = functions[i];
    const Unit &u = units_[unitOf_[i]];
    std::set<int> callees;
    auto typeItem = [&](const std::string &t) {
      return u.wrappedTypes.count(t) ? item(u.tu + ":" + t, 't') : -1;
    };
    for (const json &raw : rawEvents_[i]) {
      Event e{Event::Point};
      std::string kind = raw.at(0).get<std::string>();
      std::string name = raw.at(1).get<std::string>();
      e.block = raw.at(2).get<unsigned>();
      e.line = raw.at(3).get<unsigned>();
      if (raw.size() > 4)
        for (const json &t : raw.at(4))
          if (int ti = typeItem(t.get<std::string>()); ti >= 0)
            e.during.push_back(ti);
      e.name = name;
      if (kind == "call") {
        e.kind = Event::Call;
        e.targets = resolve(unitOf_[i], name);
      } else if (kind == "icall") {
        // "sig" or "sig@struct S::f": through a field nothing but function
        // names is ever stored into, only those functions; else every
        // address-taken function of the type.
        e.kind = Event::ICall;
        size_t at = name.find('@');
        std::string sig = name.substr(0, at);
        auto field = at == std::string::npos ? byField.end() : byField.find(name.substr(at + 1));
        if (field != byField.end() && !allFieldsOpen_ && !openFields_.count(field->first))
          e.targets.assign(field->second.begin(), field->second.end());
        else if (auto it = bySignature_.find(sig); it != bySignature_.end())
          e.targets.assign(it->second.begin(), it->second.end());
      } else if (kind == "type") {
        e.kind = Event::Type;
        e.item = typeItem(name);
        if (e.item < 0)
          continue; // not wrapped: no update can change it
      } else if (kind == "global") {
        e.kind = Event::Global;
        e.item = item(u.statics.count(name) || name.find('.') != std::string::npos
                          ? u.tu + ":" + name
                          : name,
                      'g');
      } else if (kind == "point") {
        e.kind = Event::Point;
      } else {
        continue;
      }
      callees.insert(e.targets.begin(), e.targets.end());
      if (e.block >= f.succ.size())
        f.succ.resize(e.block + 1);
      f.events.push_back(std::move(e));
    }
    f.callees.assign(callees.begin(), callees.end());
  }
  for (const Type &t : types)
    if (t.updateable)
      item(t.tu + ":" + t.name, 't');
  rawEvents_.clear();
}

// ---- the analysis ----------------------------------------------------------

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

// Components of the call graph restricted to the calls into functions t
// with follow(t), callees' components first (Tarjan's algorithm, iterative:
// kernel call chains are deep).
static void forEachComponent(const Program &p, const std::function<bool(int)> &follow,
                             const std::function<void(const std::vector<int> &)> &component) {
  size_t n = p.functions.size();
  std::vector<int> index(n, -1), low(n, 0);
  std::vector<char> onStack(n, 0);
  std::vector<int> stack;
  int counter = 0;
  struct Frame {
    int f;
    size_t next;
  };
  for (size_t root = 0; root < n; ++root) {
    if (index[root] >= 0)
      continue;
    std::vector<Frame> work;
    auto enter = [&](int f) {
      index[f] = low[f] = counter++;
      stack.push_back(f);
      onStack[f] = 1;
      work.push_back({f, 0});
    };
    enter(static_cast<int>(root));
    while (!work.empty()) {
      Frame &fr = work.back();
      const std::vector<int> &cs = p.functions[fr.f].callees;
      if (fr.next < cs.size()) {
        int c = cs[fr.next++];
        if (!follow(c))
          continue;
        if (index[c] < 0)
          enter(c);
        else if (onStack[c])
          low[fr.f] = std::min(low[fr.f], index[c]);
        continue;
      }
      int f = fr.f;
      work.pop_back();
      if (low[f] == index[f]) {
        std::vector<int> members;
        int m;
        do {
          m = stack.back();
          stack.pop_back();
          onStack[m] = 0;
          members.push_back(m);
        } while (m != f);
        component(members);
      }
      if (!work.empty())
        low[work.back().f] = std::min(low[work.back().f], low[f]);
    }
  }
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

bool Analysis::reaches(int from, int to) const {
  std::vector<char> seen(p_.functions.size(), 0);
  std::deque<int> q{from};
  seen[from] = 1;
  while (!q.empty()) {
    int f = q.front();
    q.pop_front();
    if (f == to)
      return true;
    for (int c : p_.functions[f].callees)
      if (!seen[c]) {
        seen[c] = 1;
        q.push_back(c);
      }
  }
  return false;
}

// cont(f) = union over call sites c of f (in g): oldFuture(c) + during(c) + cont(g),
// the least fixed point over f's callers, their callers, ...
const Bits &Analysis::continuation(int f) {
  if (auto it = cont_.find(f); it != cont_.end())
    return it->second;
  std::vector<int> closure;
  std::vector<char> seen(p_.functions.size(), 0);
  std::deque<int> q{f};
  seen[f] = 1;
  while (!q.empty()) {
    int g = q.front();
    q.pop_front();
    closure.push_back(g);
    for (auto [caller, ev] : callers_[g])
      if (!seen[caller]) {
        seen[caller] = 1;
        q.push_back(caller);
      }
  }
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
  std::deque<int> q{x};
  inside[x] = 1;
  std::vector<int> members;
  while (!q.empty()) {
    int g = q.front();
    q.pop_front();
    members.push_back(g);
    for (int c : p_.functions[g].callees)
      if (!inside[c]) {
        inside[c] = 1;
        q.push_back(c);
      }
  }
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

Bits Analysis::txFuture(int x, int f) {
  if (!tx_.count({x, x}))
    computeTx(x);
  auto it = tx_.find({x, f});
  return it == tx_.end() ? empty() : it->second.second;
}

} // namespace dsu::safety

namespace dsu::safety {

namespace {

json setJson(const Analysis &a, const Bits &b) {
  return {{"functions", a.names(b, 'f')}, {"types", a.names(b, 't')}, {"globals", a.names(b, 'g')}};
}

std::string joinNames(const std::vector<std::string> &v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 4; ++i)
    out += (i ? ", " : "") + v[i];
  if (v.size() > 4)
    out += fmt::format(" and {} more", v.size() - 4);
  return out;
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
      it->second.flags |= kFrameType;
      it->second.why = concreteUseText(p, g, types, " after the call");
    }
    if (a.intersects(pr, all))
      it->second.flags |= kFramePrior;
    if (a.intersects(fu, all))
      it->second.flags |= kFrameFuture;
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
      if ((fl & kFrameType) && k.why.empty())
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
        add(key, sf.flags | inner.flags, (sf.flags & kFrameType) ? sf.why : inner.why);
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
      Bits after = a.oldFuture(fi, ei);
      a.merge(after, a.continuation(fi));
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
        Bits pr = a.prior(fi, ei), fu = a.future(fi, ei);
        if (x != fi) {
          a.merge(pr, a.txPrior(x, fi));
          a.merge(fu, a.txFuture(x, fi));
        }
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
      if ((site.flags & kFrameType) && !why.count(key))
        why[key] = site.why;
      any |= site.flags;
    }
    if (!fn.transaction.empty() && a.intersects(a.effect(fi), all))
      any |= kFrameTxRoot;
    if (!any)
      continue;
    unsigned tx = fn.transaction.empty() ? 0 : kFrameTxRoot;
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
      anyFl |= kFrameType;
    if (a.intersects(anyPrior, all))
      anyFl |= kFramePrior;
    if (a.intersects(anyFuture, all))
      anyFl |= kFrameFuture;
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

json unsafeJson(const std::vector<Unsafe> &unsafe, const std::set<std::string> &change) {
  json points = json::array(), frames = json::array();
  for (const Unsafe &u : unsafe) {
    if (u.kind == Unsafe::Point) {
      points.push_back({{"where", u.where}, {"why", u.why}});
      continue;
    }
    json flags = json::array();
    for (auto [bit, name] : {std::pair{kFrameType, "type"}, std::pair{kFramePrior, "prior"},
                             std::pair{kFrameFuture, "future"}, std::pair{kFrameTxRoot, "transaction"}})
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
      Bits after = a.oldFuture(fi, ei);
      a.merge(after, a.continuation(fi));
      json inTx = json::array();
      for (int x : enclosingTransactions(p, a, fi)) {
        Bits pr = a.prior(fi, ei), fu = a.future(fi, ei);
        if (x != fi) {
          a.merge(pr, a.txPrior(x, fi));
          a.merge(fu, a.txFuture(x, fi));
        }
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
