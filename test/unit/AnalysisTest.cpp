// The safety analysis library (analysis/lib) on manifests written here:
// what loading accepts and refuses, how calls are linked, and the verdicts
// for an update point before and after old code uses a changed type.
#include <catch2/catch.hpp>

#include "Safety.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

using nlohmann::json;

namespace {

// One unit u.c: loop() (not updateable) has an update point, then calls
// handle() (updateable, uses struct T) and, when `oldUseAfterPoint`, uses
// struct T itself after the point.
json manifest(bool oldUseAfterPoint) {
  json loopEvents = json::array({json::array({"point", "u.c:4", 0, 4}),
                                 json::array({"call", "handle", 0, 5})});
  if (oldUseAfterPoint)
    loopEvents.push_back(json::array({"type", "struct T", 0, 6}));
  return {{"schema", "dsu-manifest/1"},
          {"tu", "u.c"},
          {"types", json::array({{{"name", "struct T"}, {"file", "u.c"}, {"line", 1}, {"updateable", true}}})},
          {"functions",
           json::array({{{"name", "loop"},
                         {"file", "u.c"},
                         {"line", 3},
                         {"linkage", "external"},
                         {"updateable", false},
                         {"reason", "variadic"},
                         {"effects", {{"entry", 0}, {"succ", json::array({json::array()})}, {"events", loopEvents}}}},
                        {{"name", "handle"},
                         {"file", "u.c"},
                         {"line", 9},
                         {"linkage", "external"},
                         {"updateable", true},
                         {"effects",
                          {{"entry", 0},
                           {"succ", json::array({json::array()})},
                           {"events", json::array({json::array({"type", "struct T", 0, 10})})}}}}})},
          {"field_stores", json::array()}};
}

dsu::safety::Program linked(const json &m) {
  dsu::ManifestError error;
  std::optional<dsu::Manifest> read = dsu::parseManifest(m.dump(), "u.o.dsu.json", error);
  REQUIRE(read);
  dsu::safety::Program p;
  p.addManifest(*read);
  p.link();
  return p;
}

int functionIndex(const dsu::safety::Program &p, const std::string &name) {
  for (size_t i = 0; i < p.functions.size(); ++i)
    if (p.functions[i].name == name)
      return static_cast<int>(i);
  FAIL("no function " << name);
  return -1;
}

} // namespace

TEST_CASE("manifests: the schema is checked, a malformed one is named", "[analysis]") {
  char dirTemplate[] = "/tmp/dsu-analysis-test-XXXXXX";
  REQUIRE(mkdtemp(dirTemplate));
  const std::string dir = dirTemplate;
  std::ofstream(dir + "/a.dsu.json") << json{{"schema", "dsu-manifest/2"}}.dump();
  std::ofstream(dir + "/b.dsu.json")
      << json{{"schema", "dsu-manifest/1"}, {"functions", json::array({{{"line", 1}}})}}.dump();
  std::ofstream(dir + "/c.dsu.json") << "{";
  dsu::safety::Program p;
  std::vector<std::string> errors;
  p.load({dir}, errors);
  std::filesystem::remove_all(dir);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] == dir + "/a.dsu.json: not a dsu-manifest/1 file");
  CHECK_THAT(errors[1], Catch::StartsWith(dir + "/b.dsu.json: malformed manifest: "));
  CHECK(errors[2] == dir + "/c.dsu.json: not valid JSON");
  CHECK(p.functions.empty());
}

TEST_CASE("manifests: one from before effects were recorded makes everything possible",
          "[analysis]") {
  dsu::safety::Program p = linked({{"schema", "dsu-manifest/1"},
                                   {"source", "old.c"},
                                   {"functions", json::array({{{"name", "f"}, {"updateable", true}}})}});
  REQUIRE(p.functions.size() == 1);
  CHECK(p.functions[0].tu == "old.c");
  CHECK_FALSE(p.functions[0].cfg);
  CHECK(p.functions[0].succ == std::vector<std::vector<unsigned>>{{0}});
  CHECK(p.functions[0].events.empty());
}

TEST_CASE("link: calls resolve to the unit's definitions; items are named by unit", "[analysis]") {
  dsu::safety::Program p = linked(manifest(false));
  int loop = functionIndex(p, "loop"), handle = functionIndex(p, "handle");
  CHECK(p.functions[loop].callees == std::vector<int>{handle});
  CHECK(p.mode == "user");
  CHECK(p.itemIndex.count("u.c:loop"));
  CHECK(p.itemIndex.count("u.c:struct T"));
  dsu::safety::Analysis a(p);
  CHECK(a.reaches(loop, handle));
  CHECK_FALSE(a.reaches(handle, loop));
  CHECK(a.names(a.effect(loop), 't') == std::vector<std::string>{"u.c:struct T"});
  // After the point, the old code of loop calls handle, which runs its new
  // version: no old use of struct T.
  CHECK(a.names(a.restrictedAfterPoint(loop, 0), 't').empty());
}

TEST_CASE("unsafe sites: a point is unsafe when old code uses a changed type after it",
          "[analysis]") {
  const std::set<std::string> change{"u.c:struct T"};
  {
    dsu::safety::Program p = linked(manifest(false));
    CHECK(dsu::safety::unsafeSites(p, change).empty());
  }
  dsu::safety::Program p = linked(manifest(true));
  std::vector<dsu::safety::Unsafe> unsafe = dsu::safety::unsafeSites(p, change);
  REQUIRE(unsafe.size() == 1);
  CHECK(unsafe[0].kind == dsu::safety::Unsafe::Point);
  CHECK(unsafe[0].where == "u.c:4");
  CHECK(unsafe[0].why == "the old code may use u.c:struct T concretely after this point (in loop)");
  json table = dsu::safety::unsafeJson(unsafe, change);
  CHECK(table["schema"] == "dsu-unsafe/1");
  CHECK(table["points"].size() == 1);
  json restrictions = dsu::safety::restrictionsJson(p);
  REQUIRE(restrictions["points"].size() == 1);
  CHECK(restrictions["points"][0]["restricted"]["types"] == json::array({"u.c:struct T"}));
}
