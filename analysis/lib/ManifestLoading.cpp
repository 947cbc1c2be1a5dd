// Reading the per-object manifests (*.dsu.json, dsu-manifest/1, written by
// dsu-cc) into the Program: every field of the manifest JSON the safety
// analysis reads is read here. Effect events and address-taken entries stay
// JSON until Program::link(), which reads them through readEvent() and the
// addressTaken*() functions below.
#include "Program.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

namespace dsu::safety {

namespace fs = std::filesystem;
using nlohmann::json;

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

Program::ManifestEvent Program::readEvent(const json &raw) {
  ManifestEvent e;
  e.kind = raw.at(0).get<std::string>();
  e.name = raw.at(1).get<std::string>();
  e.block = raw.at(2).get<unsigned>();
  e.line = raw.at(3).get<unsigned>();
  if (raw.size() > 4)
    for (const json &t : raw.at(4))
      e.during.push_back(t.get<std::string>());
  return e;
}

bool Program::isAddressTakenEntry(const json &a) { return a.is_array() && a.size() >= 2; }
std::string Program::addressTakenName(const json &a) { return a[0].get<std::string>(); }
std::string Program::addressTakenSignature(const json &a) { return a[1].get<std::string>(); }

} // namespace dsu::safety
