// The patch.json reader: what a stacked patch and the OUT check read back.
#include "PatchManifest.h"

#include <catch2/catch.hpp>

using namespace dsu;

namespace {

const char *kPatch = R"({
  "schema": "dsu-patch/1", "name": "p1+p2", "parent": "p1", "mode": "kernel",
  "base": {"dir": "/src/base"}, "old": "/o", "new": "/n", "units": [],
  "cumulative": [
    {"tu": "u.c#1", "functions": ["f"], "variables": ["f.count"], "type_versions": {"struct s": 2}},
    {"tu": "v.c#1", "functions": [], "variables": [], "type_versions": {}}
  ],
  "globals": ["g"], "summary": {}
})";

} // namespace

TEST_CASE("parsePatchManifest: what a stacked patch needs") {
  std::string error;
  auto m = parsePatchManifest(kPatch, "p/patch.json", error);
  REQUIRE(m);
  CHECK(m->name == "p1+p2");
  CHECK(m->parent == "p1");
  CHECK(m->kernel);
  CHECK(m->baseDir == "/src/base");
  REQUIRE(m->cumulative.size() == 2);
  CHECK(m->cumulative[0].tu == "u.c#1");
  CHECK(m->cumulative[0].functions == std::vector<std::string>{"f"});
  CHECK(m->cumulative[0].variables == std::vector<std::string>{"f.count"});
  CHECK(m->cumulative[0].typeVersions == std::map<std::string, unsigned>{{"struct s", 2}});
  CHECK(m->globals == std::vector<std::string>{"g"});
}

TEST_CASE("parsePatchManifest: not a patch manifest, with the reason") {
  std::string error;
  CHECK_FALSE(parsePatchManifest("{", "p/patch.json", error));
  CHECK(error == "p/patch.json: not a dsu-patch/1 manifest (not a JSON object)");
  CHECK_FALSE(parsePatchManifest(R"({"schema": "dsu-manifest/3"})", "p/patch.json", error));
  CHECK(error == "p/patch.json: not a dsu-patch/1 manifest (schema is \"dsu-manifest/3\")");
  CHECK_FALSE(parsePatchManifest(R"({"name": "x"})", "p/patch.json", error));
  CHECK(error == "p/patch.json: not a dsu-patch/1 manifest (no schema)");
}

TEST_CASE("parsePatchManifest: a field of the wrong kind is named") {
  auto broken = [](const std::string &from, const std::string &to) {
    std::string text = kPatch;
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::string error;
    CHECK_FALSE(parsePatchManifest(text, "p.json", error));
    return error;
  };
  CHECK(broken(R"("mode": "kernel")", R"("mode": "both")") ==
        "p.json: not a dsu-patch/1 manifest (mode is \"both\", not user or kernel)");
  CHECK(broken(R"("dir": "/src/base")", R"("dir": 3)") ==
        "p.json: not a dsu-patch/1 manifest (base.dir is missing or not a string)");
  CHECK(broken(R"("struct s": 2)", R"("struct s": "two")") ==
        "p.json: not a dsu-patch/1 manifest (cumulative[0].type_versions[\"struct s\"] is not a version)");
  CHECK(broken(R"("globals": ["g"])", R"("globals": [1])") ==
        "p.json: not a dsu-patch/1 manifest (globals holds a non-string)");
  CHECK(broken(R"("name": "p1+p2", )", "") ==
        "p.json: not a dsu-patch/1 manifest (name is missing or not a string)");
}

TEST_CASE("readPatchManifest: an unreadable file is an error, not an empty patch") {
  std::string error;
  CHECK_FALSE(readPatchManifest("/nonexistent/patch.json", error));
  CHECK(error == "/nonexistent/patch.json: cannot read it");
}
