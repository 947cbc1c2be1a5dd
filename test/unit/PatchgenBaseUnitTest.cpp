// What the base has for a unit (baseUnit), from a manifest as the reader
// gives it and the previous patch's patch.json: functions of the unit's own
// files, registered variables, wrapped types, what earlier patches added.
#include "BaseTree.h"

#include <catch2/catch.hpp>

using namespace dsu;

namespace {

Manifest manifestOf(const std::string &text) {
  ManifestError error;
  std::optional<Manifest> m = parseManifest(text, "u.o.dsu.json", error);
  REQUIRE(m);
  return *m;
}

const char *kUnit = R"({
  "schema": "dsu-manifest/1", "tu": "u.c#1", "unit_hash": "abc",
  "functions": [
    {"name": "f", "file": "u.c", "updateable": true},
    {"name": "g", "file": "u.c", "updateable": false, "reason": "variadic"},
    {"name": "h", "file": "u.c", "updateable": false},
    {"name": "inl", "file": "u.h", "updateable": true}
  ],
  "variables": [
    {"name": "count", "registered": true},
    {"name": "f.seen", "registered": false, "reason_text": "its address escapes"}
  ],
  "types": [
    {"name": "struct point", "updateable": true, "union_size": 24, "union_align": 8, "slop": 8},
    {"name": "struct fixed", "updateable": false, "reason": "type_not_selected"},
    {"name": "struct other", "updateable": false}
  ]
})";

} // namespace

TEST_CASE("baseUnit: functions of the unit's files, variables and types from the manifest") {
  BaseUnit b = baseUnit(manifestOf(kUnit), PatchChain{});
  CHECK(b.tu == "u.c#1");
  CHECK(b.unitHash == "abc");
  CHECK(b.functions == std::map<std::string, std::string>{{"f", ""}, {"g", "variadic"}, {"h", "?"}});
  CHECK(b.registeredVars == std::set<std::string>{"count"});
  CHECK(b.unregisteredVars ==
        std::map<std::string, std::string>{{"f.seen", "its address escapes"}});
  REQUIRE(b.wrapped.size() == 1);
  const BaseUnit::WrappedType &w = b.wrapped.at("struct point");
  CHECK(w.tag == "point");
  CHECK(w.version == 0);
  CHECK(w.unionSize == 24);
  CHECK(w.unionAlign == 8);
  CHECK(w.slop == 8);
  CHECK(b.unwrapped ==
        std::map<std::string, std::string>{{"struct fixed", "type_not_selected"},
                                           {"struct other", "?"}});
}

TEST_CASE("baseUnit: what the patches below this one added to the unit") {
  PatchChain chain;
  chain.prev = PatchManifest{};
  chain.prev->globals = {"added_fn"};
  chain.prev->cumulative = {{"u.c#1", {"new_fn"}, {"new_var"}, {{"struct point", 2}, {"struct gone", 1}}},
                            {"v.c#1", {"elsewhere"}, {}, {}}};
  BaseUnit b = baseUnit(manifestOf(kUnit), chain);
  CHECK(b.patchGlobals == std::set<std::string>{"added_fn"});
  CHECK(b.functions.at("new_fn") == "");
  CHECK(!b.functions.count("elsewhere"));
  CHECK(b.registeredVars == std::set<std::string>{"count", "new_var"});
  CHECK(b.wrapped.at("struct point").version == 2);
  CHECK(!b.wrapped.count("struct gone"));
}

TEST_CASE("recordedCompiler: clang-19 when the manifest names none") {
  Manifest m;
  CHECK(recordedCompiler(m) == std::vector<std::string>{"clang-19"});
  m.compiler = {"gcc", "-m32"};
  CHECK(recordedCompiler(m) == std::vector<std::string>{"gcc", "-m32"});
}
