// The program's items and call graph: Program::link() resolves each
// function's events (calls by name within its unit, then among external
// definitions; indirect calls by field or signature; types and globals to
// items), and the walks over the graph the effects are computed with.
#include "CallGraph.h"

#include <algorithm>

namespace dsu::safety {

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
  for (const auto &[unit, a] : addressTaken_)
    for (int target : resolve(unit, a.name))
      bySignature_[a.signature].insert(target);
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
    for (const dsu::ManifestEffectEvent &me : manifestEvents_[i]) {
      Event e{Event::Point};
      const std::string &kind = me.kind, &name = me.name;
      e.block = me.block;
      e.line = me.line;
      for (const std::string &t : me.during)
        if (int ti = typeItem(t); ti >= 0)
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
  manifestEvents_.clear();
}

void forEachComponent(const Program &p, const std::function<bool(int)> &follow,
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

} // namespace dsu::safety
