// Reading patch.json back (see PatchManifest.h).
#include "PatchManifest.h"

#include "Files.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

using nlohmann::json;

namespace dsu {

namespace {

// A field of the wrong type is an error naming it, not a default: a
// manifest that says something else than we think would stack a patch on
// the wrong base.
struct FieldError {
  std::string what;
};

const json &field(const json &j, const char *key, json::value_t type, const std::string &where) {
  auto it = j.find(key);
  if (it == j.end() || it->type() != type)
    throw FieldError{fmt::format("{}{} is missing or not {}", where, key,
                                 type == json::value_t::string   ? "a string"
                                 : type == json::value_t::array  ? "an array"
                                 : type == json::value_t::object ? "an object"
                                                                 : "a number")};
  return *it;
}

std::vector<std::string> strings(const json &j, const char *key, const std::string &where,
                                 bool optional = false) {
  std::vector<std::string> out;
  if (optional && !j.contains(key))
    return out;
  for (const json &s : field(j, key, json::value_t::array, where)) {
    if (!s.is_string())
      throw FieldError{fmt::format("{}{} holds a non-string", where, key)};
    out.push_back(s.get<std::string>());
  }
  return out;
}

PatchCumulativeUnit cumulativeUnit(const json &u, size_t index) {
  const std::string where = fmt::format("cumulative[{}].", index);
  if (!u.is_object())
    throw FieldError{fmt::format("cumulative[{}] is not an object", index)};
  PatchCumulativeUnit c;
  c.tu = field(u, "tu", json::value_t::string, where).get<std::string>();
  c.functions = strings(u, "functions", where, true);
  c.variables = strings(u, "variables", where, true);
  if (u.contains("type_versions"))
    for (const auto &[name, version] : field(u, "type_versions", json::value_t::object, where).items()) {
      if (!version.is_number_unsigned())
        throw FieldError{fmt::format("{}type_versions[\"{}\"] is not a version", where, name)};
      c.typeVersions[name] = version.get<unsigned>();
    }
  return c;
}

} // namespace

std::optional<PatchManifest> parsePatchManifest(const std::string &text, const std::string &path,
                                                std::string &error) {
  auto fail = [&](const std::string &why) {
    error = fmt::format("{}: not a {} manifest ({})", path, kPatchSchema, why);
    return std::nullopt;
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail("not a JSON object");
  if (j.value("schema", "") != kPatchSchema)
    return fail(j.contains("schema") ? fmt::format("schema is {}", j["schema"].dump())
                                     : "no schema");
  try {
    PatchManifest m;
    m.name = field(j, "name", json::value_t::string, "").get<std::string>();
    m.parent = field(j, "parent", json::value_t::string, "").get<std::string>();
    const std::string mode = field(j, "mode", json::value_t::string, "").get<std::string>();
    if (mode != "user" && mode != "kernel")
      throw FieldError{fmt::format("mode is \"{}\", not user or kernel", mode)};
    m.kernel = mode == "kernel";
    m.baseDir = field(field(j, "base", json::value_t::object, ""), "dir", json::value_t::string, "base.")
                    .get<std::string>();
    size_t i = 0;
    for (const json &u : field(j, "cumulative", json::value_t::array, ""))
      m.cumulative.push_back(cumulativeUnit(u, i++));
    m.globals = strings(j, "globals", "");
    return m;
  } catch (const FieldError &e) {
    return fail(e.what);
  }
}

std::optional<PatchManifest> readPatchManifest(const std::string &path, std::string &error) {
  auto text = readFile(path);
  if (!text) {
    error = fmt::format("{}: cannot read it", path);
    return std::nullopt;
  }
  return parsePatchManifest(*text, path, error);
}

} // namespace dsu
