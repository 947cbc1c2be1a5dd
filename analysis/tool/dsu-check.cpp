// dsu-check: the CI check. Reports which functions and types of a build are
// updateable, and why not, from the manifests (and restrictions.json, when
// dsu-analyze wrote one) under the given build directories.
//
//   dsu-check [--format table|json|sarif] [--summary] [--baseline FILE]
//             [--require NAME[,NAME...]] DIR...
//
// --baseline FILE: an earlier `--format json` report; fails (exit 1) when a
//   function or type updateable there is not any more (or is gone).
// --require LIST: fails when a named function ("name" or "tu:name") or type
//   ("struct T" or "tu:struct T") is not updateable.
// Exit status: 0 ok, 1 a check failed, 2 bad usage or unreadable input.
// JSON schema: docs/safety.md ("dsu-check/1").
#include "Safety.h"

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <map>

using nlohmann::json;

namespace {

struct Entry {
  std::string kind; // function | type
  std::string tu, name, file;
  unsigned line = 0;
  bool updateable = false;
  std::string reason, reasonText;
  std::string key() const { return tu + ":" + name; }
};

void usage(FILE *f) {
  fmt::print(f, "usage: dsu-check [--format table|json|sarif] [--summary] [--baseline FILE] "
                "[--require NAME[,NAME...]] DIR...\n");
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty())
      out.push_back(part);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

} // namespace

int main(int argc, char **argv) {
  std::string format = "table", baselinePath;
  std::vector<std::string> required, dirs;
  bool summaryOnly = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--format" && i + 1 < argc) {
      format = argv[++i];
      if (format != "table" && format != "json" && format != "sarif") {
        fmt::print(stderr, "dsu-check: error: unknown format '{}' (table, json, sarif)\n", format);
        return 2;
      }
    } else if (a == "--baseline" && i + 1 < argc) {
      baselinePath = argv[++i];
    } else if (a == "--require" && i + 1 < argc) {
      for (const std::string &n : split(argv[++i]))
        required.push_back(n);
    } else if (a == "--summary") {
      summaryOnly = true;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      fmt::print(stderr, "dsu-check: error: unknown option '{}'\n", a);
      usage(stderr);
      return 2;
    } else {
      dirs.push_back(a);
    }
  }
  if (dirs.empty()) {
    usage(stderr);
    return 2;
  }

  dsu::safety::Program p;
  std::vector<std::string> errors;
  p.load(dirs, errors);
  for (const std::string &e : errors)
    fmt::print(stderr, "{}\n", e.find(": ") != std::string::npos
                                   ? e.substr(0, e.find(": ")) + ": error: " + e.substr(e.find(": ") + 2)
                                   : e);
  if (!errors.empty())
    return 2;
  if (p.functions.empty()) {
    fmt::print(stderr, "dsu-check: error: no manifests (*.dsu.json) under {}\n", dirs[0]);
    return 2;
  }
  // restrictions.json beside the manifests, when dsu-analyze wrote one.
  json restrictions;
  for (const std::string &d : dirs) {
    std::ifstream in(std::filesystem::path(d) / "restrictions.json");
    if (in) {
      restrictions = json::parse(in, nullptr, false);
      if (restrictions.is_discarded() || restrictions.value("schema", "") != "dsu-restrictions/1") {
        fmt::print(stderr, "{}/restrictions.json: error: not a dsu-restrictions/1 file\n", d);
        return 2;
      }
      break;
    }
  }

  std::vector<Entry> entries;
  for (const auto &f : p.functions)
    entries.push_back({"function", f.tu, f.name, f.file, f.line, f.updateable, f.reason, f.reasonText});
  for (const auto &t : p.types)
    entries.push_back({"type", t.tu, t.name, t.file, t.line, t.updateable, t.reason, t.reasonText});
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return std::tie(a.kind, a.file, a.line, a.name) < std::tie(b.kind, b.file, b.line, b.name);
  });

  // Counts.
  std::map<std::string, std::map<std::string, unsigned>> byReason; // kind -> reason -> n
  std::map<std::string, std::pair<unsigned, unsigned>> totals;     // kind -> (all, updateable)
  std::map<std::string, std::string> reasonTexts;
  for (const Entry &e : entries) {
    auto &t = totals[e.kind];
    ++t.first;
    if (e.updateable) {
      ++t.second;
    } else {
      ++byReason[e.kind][e.reason];
      if (!reasonTexts.count(e.reason)) {
        std::string text = e.reasonText;
        if (size_t paren = text.find(" ("); paren != std::string::npos)
          text = text.substr(0, paren); // the detail is per entry
        reasonTexts[e.reason] = text;
      }
    }
  }

  // Checks.
  std::vector<std::string> failures;
  std::map<std::string, const Entry *> byKey;
  std::multimap<std::string, const Entry *> byName;
  for (const Entry &e : entries) {
    byKey[e.kind + " " + e.key()] = &e;
    byName.emplace(e.kind + " " + e.name, &e);
  }
  auto status = [](const Entry *e) {
    return e->updateable ? std::string("updateable")
                         : fmt::format("not updateable: {}", e->reason.empty() ? "?" : e->reason);
  };
  for (const std::string &r : required) {
    std::string kind = r.find("struct ") != std::string::npos ? "type" : "function";
    std::vector<const Entry *> found;
    if (auto it = byKey.find(kind + " " + r); it != byKey.end())
      found.push_back(it->second);
    else
      for (auto [it, end] = byName.equal_range(kind + " " + r); it != end; ++it)
        found.push_back(it->second);
    if (found.empty())
      failures.push_back(fmt::format("required {} '{}' is not in the build", kind, r));
    for (const Entry *e : found)
      if (!e->updateable)
        failures.push_back(fmt::format("{}:{}: required {} '{}' is {} ({})", e->file, e->line, kind,
                                       e->name, status(e), e->reasonText));
  }
  if (!baselinePath.empty()) {
    std::ifstream in(baselinePath);
    json base = json::parse(in, nullptr, false);
    if (!in || base.is_discarded() || base.value("schema", "") != "dsu-check/1") {
      fmt::print(stderr, "{}: error: not a dsu-check/1 report (write one with --format json)\n",
                 baselinePath);
      return 2;
    }
    for (const char *kind : {"function", "type"})
      for (const json &b : base.value(std::string(kind) + "s", json::array())) {
        if (!b.value("updateable", false))
          continue;
        std::string key = b.value("tu", "") + ":" + b.value("name", "");
        auto it = byKey.find(std::string(kind) + " " + key);
        if (it == byKey.end())
          failures.push_back(fmt::format("{} '{}' was updateable in the baseline and is gone", kind, key));
        else if (!it->second->updateable)
          failures.push_back(fmt::format("{}:{}: {} '{}' was updateable in the baseline, now {} ({})",
                                         it->second->file, it->second->line, kind, key,
                                         status(it->second), it->second->reasonText));
      }
  }

  if (format == "json") {
    json j = {{"schema", "dsu-check/1"}, {"mode", p.mode}};
    json summary = json::object(), reasons = json::object();
    for (const auto &[kind, t] : totals)
      summary[kind + "s"] = {{"total", t.first}, {"updateable", t.second}};
    for (const auto &[kind, m] : byReason)
      for (const auto &[reason, n] : m)
        reasons[kind + "s"][reason] = n;
    j["summary"] = summary;
    j["by_reason"] = reasons;
    json funcs = json::array(), types = json::array();
    for (const Entry &e : entries) {
      json o = {{"name", e.name}, {"tu", e.tu}, {"file", e.file}, {"line", e.line}, {"updateable", e.updateable}};
      if (!e.updateable) {
        o["reason"] = e.reason;
        o["reason_text"] = e.reasonText;
      }
      (e.kind == "function" ? funcs : types).push_back(std::move(o));
    }
    j["functions"] = funcs;
    j["types"] = types;
    if (!restrictions.is_null())
      j["restrictions"] = restrictions.value("summary", json::object());
    j["failures"] = failures;
    std::cout << j.dump(1) << '\n';
  } else if (format == "sarif") {
    json rules = json::array();
    std::map<std::string, int> ruleIndex;
    auto rule = [&](const std::string &id, const std::string &text) {
      if (!ruleIndex.count(id)) {
        ruleIndex[id] = static_cast<int>(rules.size());
        rules.push_back({{"id", id}, {"shortDescription", {{"text", text}}}});
      }
      return ruleIndex[id];
    };
    json results = json::array();
    auto location = [](const std::string &file, unsigned line) {
      return json::array({{{"physicalLocation",
                            {{"artifactLocation", {{"uri", file}}},
                             {"region", {{"startLine", std::max(1u, line)}}}}}}});
    };
    for (const Entry &e : entries) {
      if (e.updateable)
        continue;
      std::string id = "dsu/" + (e.reason.empty() ? std::string("unknown") : e.reason);
      int idx = rule(id, reasonTexts[e.reason]);
      results.push_back({{"ruleId", id},
                         {"ruleIndex", idx},
                         {"level", "note"},
                         {"message", {{"text", fmt::format("{} '{}' is not updateable: {}", e.kind,
                                                           e.name, e.reasonText)}}},
                         {"locations", location(e.file, e.line)}});
    }
    for (const std::string &f : failures) {
      int idx = rule("dsu/check-failed", "a --require or --baseline check failed");
      json r = {{"ruleId", "dsu/check-failed"},
                {"ruleIndex", idx},
                {"level", "error"},
                {"message", {{"text", f}}}};
      results.push_back(std::move(r));
    }
    json sarif = {
        {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
        {"version", "2.1.0"},
        {"runs", json::array({{{"tool", {{"driver", {{"name", "dsu-check"},
                                                     {"informationUri", "https://example.invalid/dsu"},
                                                     {"version", "1"},
                                                     {"rules", rules}}}}},
                               {"results", results}}})}};
    std::cout << sarif.dump(1) << '\n';
  } else {
    if (!summaryOnly) {
      fmt::print("{:<9} {:<32} {:<28} {}\n", "KIND", "NAME", "WHERE", "STATUS");
      for (const Entry &e : entries)
        fmt::print("{:<9} {:<32} {:<28} {}\n", e.kind, e.name, fmt::format("{}:{}", e.file, e.line),
                   e.updateable ? "updateable" : "not updateable: " + e.reason);
      fmt::print("\n");
    }
    for (const auto &[kind, t] : totals) {
      fmt::print("{}s: {} of {} updateable\n", kind, t.second, t.first);
      std::vector<std::pair<unsigned, std::string>> rs;
      for (const auto &[reason, n] : byReason[kind])
        rs.emplace_back(n, reason);
      std::sort(rs.begin(), rs.end(), [](auto &a, auto &b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
      for (const auto &[n, reason] : rs)
        fmt::print("  {:>6}  {:<22} {}\n", n, reason, reasonTexts[reason]);
    }
    if (!restrictions.is_null()) {
      const json &s = restrictions.value("summary", json::object());
      fmt::print("restrictions: {} update points, {} transactions\n", s.value("points", 0),
                 s.value("transactions", 0));
    }
  }
  for (const std::string &f : failures)
    fmt::print(stderr, "dsu-check: error: {}\n", f);
  return failures.empty() ? 0 : 1;
}
