// Loading the per-object manifests (*.dsu.json, written by dsu-cc) into the
// Program: finding them, reading each through the compiler library's
// manifest reader (ManifestReader.h, which checks the schema), and taking
// what the safety analysis needs. Effect events and address-taken entries
// keep their names until Program::link() resolves them.
#include "Program.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <tuple>

namespace dsu::safety {

namespace fs = std::filesystem;

namespace {

// What the manifest says of every function and type it lists, into the
// analysis's record (Function or Type) of unit `tu`.
template <typename Record>
void takeEntry(const dsu::ManifestEntry &entry, const std::string &tu, Record &r) {
  r.tu = tu;
  std::tie(r.name, r.file, r.line, r.updateable, r.reason, r.reasonText) =
      std::tie(entry.name, entry.file, entry.line, entry.updateable, entry.reason, entry.reasonText);
}

} // namespace

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
    dsu::ManifestError err;
    if (std::optional<dsu::Manifest> m = dsu::readManifestFile(p, err))
      addManifest(*m);
    else
      errors.push_back(err.path + ": " + err.reason);
  }
}

void Program::addManifest(const dsu::Manifest &m) {
  Unit u;
  u.tu = !m.tu.empty() ? m.tu : !m.source.empty() ? m.source : m.path;
  if (m.kernel)
    mode = "kernel";
  int unit = static_cast<int>(units_.size());
  for (const dsu::ManifestType &t : m.types) {
    Type ty;
    takeEntry(t, u.tu, ty);
    if (ty.updateable)
      u.wrappedTypes.insert(ty.name);
    types.push_back(std::move(ty));
  }
  for (const dsu::ManifestVariable &v : m.variables)
    u.statics.insert(v.name);
  for (const dsu::ManifestFunction &f : m.functions) {
    if (u.functions.count(f.name))
      continue; // a .c file included twice
    Function fn;
    takeEntry(f, u.tu, fn);
    fn.external = f.external;
    fn.transaction = f.transaction;
    std::vector<dsu::ManifestEffectEvent> events;
    if (f.effects) {
      fn.cfg = f.effects->cfg;
      fn.entry = f.effects->entry;
      fn.signature = f.effects->signature;
      fn.succ = f.effects->succ.value_or(std::vector<std::vector<unsigned>>{{}});
      events = f.effects->events;
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
    manifestEvents_.push_back(std::move(events));
    unitOf_.push_back(unit);
  }
  for (const dsu::ManifestAddressTaken &a : m.addressTaken)
    addressTaken_.emplace_back(unit, a);
  for (const auto &store : m.fieldStores)
    fieldStores_.emplace_back(unit, store);
  openFields_.insert(m.openFields.begin(), m.openFields.end());
  // A manifest from before field stores were recorded: every field open.
  if (!m.hasFieldStores)
    allFieldsOpen_ = true;
  units_.push_back(std::move(u));
}

} // namespace dsu::safety
