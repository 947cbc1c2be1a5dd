#include "ManifestReader.h"

#include "ManifestSchema.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace dsu {
namespace {

using nlohmann::json;

ManifestEffects readEffects(const json &fx) {
  ManifestEffects e;
  e.cfg = fx.value("cfg", true);
  e.entry = fx.value("entry", 0u);
  e.exit = fx.value("exit", 0u);
  e.signature = fx.value("signature", "");
  if (fx.contains("succ"))
    e.succ = fx.at("succ").get<std::vector<std::vector<unsigned>>>();
  // [kind, name, block, line] or [kind, name, block, line, [types during]]
  for (const json &ev : fx.at("events")) {
    ManifestEffectEvent event;
    event.kind = ev.at(0).get<std::string>();
    event.name = ev.at(1).get<std::string>();
    event.block = ev.at(2).get<unsigned>();
    event.line = ev.at(3).get<unsigned>();
    if (ev.size() > 4)
      event.during = ev.at(4).get<std::vector<std::string>>();
    e.events.push_back(std::move(event));
  }
  return e;
}

void readEntry(const json &j, ManifestEntry &entry) {
  entry.name = j.at("name").get<std::string>();
  entry.file = j.value("file", "");
  entry.line = j.value("line", 0u);
  entry.updateable = j.value("updateable", false);
  entry.reason = j.value("reason", "");
  entry.reasonText = j.value("reason_text", "");
}

ManifestFunction readFunction(const json &f) {
  ManifestFunction fn;
  readEntry(f, fn);
  fn.endLine = f.value("end_line", 0u);
  fn.external = f.value("linkage", "") == "external";
  fn.bodyHash = f.value("body_hash", "");
  fn.protoHash = f.value("proto_hash", "");
  fn.calls = f.value("calls", std::vector<std::string>{});
  fn.callsThroughPointer = f.value("calls_through_pointer", 0u);
  if (f.contains("effects"))
    fn.effects = readEffects(f.at("effects"));
  fn.transaction = f.value("transaction", "");
  return fn;
}

ManifestType readType(const json &t) {
  ManifestType ty;
  readEntry(t, ty);
  ty.representationSize = t.value("representation_size", 0ul);
  ty.slop = t.value("slop", 0ul);
  ty.unionSize = t.value("union_size", 0ul);
  ty.unionAlign = t.value("union_align", 0ul);
  ty.usesRewritten = t.value("uses_rewritten", 0u);
  return ty;
}

ManifestVariable readVariable(const json &v) {
  ManifestVariable var;
  var.name = v.at("name").get<std::string>();
  var.function = v.value("function", "");
  var.file = v.value("file", "");
  var.type = v.value("type", "");
  var.line = v.value("line", 0u);
  var.isConst = v.value("const", false);
  var.registered = v.value("registered", false);
  var.reasonText = v.value("reason_text", "");
  return var;
}

Manifest readManifest(const json &m, const std::string &path) {
  Manifest r;
  r.path = path;
  r.source = m.value("source", "");
  r.object = m.value("object", "");
  r.cwd = m.value("cwd", "");
  r.kernel = m.value("mode", "user") == "kernel";
  r.status = m.value("status", "");
  r.statusDetail = m.value("status_detail", "");
  r.unitHash = m.value("unit_hash", "");
  r.tu = m.value("tu", "");
  r.hasCommandLine = m.contains("arguments");
  if (r.hasCommandLine) {
    r.arguments = m.at("arguments").get<std::vector<std::string>>();
    r.compiler = m.value("compiler", std::vector<std::string>{});
  }
  for (const json &f : m.value("functions", json::array()))
    r.functions.push_back(readFunction(f));
  for (const json &t : m.value("types", json::array()))
    r.types.push_back(readType(t));
  for (const json &v : m.value("variables", json::array()))
    r.variables.push_back(readVariable(v));
  // [name, signature, linkage]
  for (const json &a : m.value("address_taken", json::array()))
    r.addressTaken.push_back({a.at(0).get<std::string>(), a.at(1).get<std::string>(),
                              a.size() > 2 && a.at(2) == "external"});
  r.hasFieldStores = m.contains("field_stores");
  // [field, function]
  for (const json &st : m.value("field_stores", json::array()))
    r.fieldStores.emplace_back(st.at(0).get<std::string>(), st.at(1).get<std::string>());
  r.openFields = m.value("open_fields", std::vector<std::string>{});
  return r;
}

} // namespace

std::optional<Manifest> parseManifest(const std::string &text, const std::string &path,
                                      ManifestError &error) {
  error.path = path;
  json m = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded()) {
    error.reason = "not valid JSON";
    return std::nullopt;
  }
  try {
    if (!m.is_object() || !m.contains("schema") || m.at("schema") != kManifestSchema) {
      error.reason = fmt::format("not a {} file", kManifestSchema);
      return std::nullopt;
    }
    return readManifest(m, path);
  } catch (const json::exception &e) {
    error.reason = fmt::format("malformed manifest: {}", e.what());
    return std::nullopt;
  }
}

std::optional<Manifest> readManifestFile(const std::string &path, ManifestError &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = {path, fmt::format("cannot read the manifest: {}", std::strerror(errno))};
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parseManifest(text.str(), path, error);
}

} // namespace dsu
