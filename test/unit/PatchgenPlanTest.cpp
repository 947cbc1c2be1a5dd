// The plan of a unit's patch (planUnit), on snapshots written by hand: what
// is replaced, added, deleted, refused, and why.
#include "UnitPlan.h"

#include <catch2/catch.hpp>

using dsu::BaseUnit;
using dsu::UnitPlan;
using dsu::UnitSnapshot;

namespace {

// A definition of u.c at `line`.
template <typename Definition> Definition at(const std::string &name, unsigned line) {
  Definition d;
  d.name = name;
  d.file = "u.c";
  d.line = line;
  return d;
}

UnitSnapshot::Function function(const std::string &name, const std::string &text,
                                const std::string &proto = "int (void)", unsigned line = 1) {
  auto f = at<UnitSnapshot::Function>(name, line);
  f.proto = proto;
  f.text = text;
  return f;
}

UnitSnapshot::Variable variable(const std::string &name, const std::string &type,
                                const std::string &init) {
  auto v = at<UnitSnapshot::Variable>(name, 1);
  v.type = type;
  v.init = init;
  return v;
}

// A base where `f`, `g` are updateable and `h` is inlined into its callers.
BaseUnit base() {
  BaseUnit b;
  b.tu = "u.c";
  b.unitHash = "abcd";
  b.functions = {{"f", ""}, {"g", ""}, {"h", "inline"}, {"main", "entry"}};
  return b;
}

UnitSnapshot oldVersion() {
  UnitSnapshot u;
  u.functions["f"] = function("f", "{ return 1; }");
  u.functions["g"] = function("g", "{ return h(); }");
  u.functions["h"] = function("h", "{ return 2; }");
  u.calls["g"] = {"h"};
  u.variables["counter"] = variable("counter", "int", "0");
  return u;
}

// The old version with struct conn at u.c:3, with a field `bytes` added.
UnitSnapshot withConn(bool bytesAdded) {
  UnitSnapshot u = oldVersion();
  auto t = at<UnitSnapshot::Type>("struct conn", 3);
  t.tag = "conn";
  t.text = "struct conn { int fd; }";
  t.fields = {{"fd", "int"}};
  if (bytesAdded) {
    t.text = "struct conn { int fd; long bytes; }";
    t.fields.push_back({"bytes", "long"});
  }
  u.types[t.name] = t;
  return u;
}

} // namespace

TEST_CASE("patchgen plan: a changed updateable function is replaced", "[patchgen][plan]") {
  UnitSnapshot newer = oldVersion();
  newer.functions["f"].text = "{ return 3; }";
  UnitPlan plan = dsu::planUnit(base(), oldVersion(), newer, "p");
  CHECK(plan.tu == "u.c");
  CHECK(plan.replaced == std::set<std::string>{"f"});
  CHECK(plan.added.empty());
  CHECK(plan.deleted.empty());
  CHECK(plan.errors.empty());
  CHECK(plan.warnings.empty());
}

TEST_CASE("patchgen plan: an unchanged unit plans nothing", "[patchgen][plan]") {
  UnitPlan plan = dsu::planUnit(base(), oldVersion(), oldVersion(), "p");
  CHECK(plan.replaced.empty());
  CHECK(plan.added.empty());
  CHECK(plan.addedVars.empty());
  CHECK(plan.errors.empty());
}

TEST_CASE("patchgen plan: a change of an inlined function replaces its callers",
          "[patchgen][plan]") {
  UnitSnapshot newer = oldVersion();
  newer.functions["h"].text = "{ return 5; }";
  UnitPlan plan = dsu::planUnit(base(), oldVersion(), newer, "p");
  CHECK(plan.replaced == std::set<std::string>{"g"});
  CHECK(plan.errors.empty());
}

// Corpus fix 03: do_pagemap_cmd() is needs_inlining but also the
// file_operations' ioctl; folding it into its callers (none) carried nothing.
TEST_CASE("patchgen plan: an inlined function whose address is taken cannot change",
          "[patchgen][plan]") {
  UnitSnapshot newer = oldVersion();
  newer.functions["h"].text = "{ return 5; }";
  UnitSnapshot older = oldVersion();
  older.addressEscapes = {"h"};
  UnitPlan plan = dsu::planUnit(base(), older, newer, "p");
  CHECK(plan.replaced.empty());
  REQUIRE(plan.errors.size() == 1);
  CHECK(plan.errors[0] == "u.c:1:1: error: h() changed, but it is not updateable in the running "
                          "program (reason: inline) and its address is taken, so the pointers "
                          "to it the program holds keep running its old code");
}

// Header functions: folded wherever they are used, also through a header
// function that did not change (it is not in the snapshot, only its calls).
TEST_CASE("patchgen plan: a changed header function replaces its callers, also through "
          "unchanged header functions",
          "[patchgen][plan]") {
  UnitSnapshot older = oldVersion();
  auto hf = function("hdr", "{ return 1; }");
  hf.file = "./include/x.h";
  older.functions["hdr"] = hf;
  older.calls["wrap"] = {"hdr"}; // wrap: in an unchanged header
  older.calls["f"] = {"wrap"};
  UnitSnapshot newer = older;
  newer.functions["hdr"].text = "{ return 2; }";
  UnitPlan plan = dsu::planUnit(base(), older, newer, "p");
  CHECK(plan.replaced == std::set<std::string>{"f"});
  CHECK(plan.added.empty());
  CHECK(plan.errors.empty());
}

TEST_CASE("patchgen plan: a new function and a new variable are added", "[patchgen][plan]") {
  UnitSnapshot newer = oldVersion();
  newer.functions["k"] = function("k", "{ return 0; }");
  newer.variables["limit"] = variable("limit", "int", "10");
  UnitPlan plan = dsu::planUnit(base(), oldVersion(), newer, "p");
  CHECK(plan.added == std::set<std::string>{"k"});
  CHECK(plan.addedVars == std::set<std::string>{"limit"});
  CHECK(plan.replaced.empty());
}

TEST_CASE("patchgen plan: a new prototype makes a new function, with a warning",
          "[patchgen][plan]") {
  UnitSnapshot newer = oldVersion();
  newer.functions["f"] = function("f", "{ return x; }", "int (int)", 7);
  UnitPlan plan = dsu::planUnit(base(), oldVersion(), newer, "p");
  CHECK(plan.added == std::set<std::string>{"f"});
  CHECK(plan.replaced.empty());
  REQUIRE(plan.warnings.size() == 1);
  CHECK(plan.warnings[0] ==
        "u.c:7:1: warning: f() has a new prototype (int (int) was int (void)): the patch adds "
        "it as a new function; code outside the patch keeps calling the old one");
}

TEST_CASE("patchgen plan: a function that is not updateable is refused with its reason",
          "[patchgen][plan]") {
  UnitSnapshot older = oldVersion(), newer = oldVersion();
  older.functions["main"] = function("main", "{ return 0; }", "int (void)", 20);
  newer.functions["main"] = function("main", "{ return 1; }", "int (void)", 20);
  UnitPlan plan = dsu::planUnit(base(), older, newer, "p");
  CHECK(plan.replaced.empty());
  REQUIRE(plan.errors.size() == 1);
  CHECK(plan.errors[0] == "u.c:20:1: error: main() changed, but it is not updateable in the "
                          "running program (reason: entry)");
}

TEST_CASE("patchgen plan: a deleted function is kept, with a warning", "[patchgen][plan]") {
  UnitSnapshot newer = oldVersion();
  newer.functions.erase("f");
  UnitPlan plan = dsu::planUnit(base(), oldVersion(), newer, "p");
  CHECK(plan.deleted == std::set<std::string>{"f"});
  CHECK(plan.errors.empty());
  REQUIRE(plan.warnings.size() == 1);
  CHECK(plan.warnings[0].rfind("u.c:1:1: warning: f() is no longer defined in u.c", 0) == 0);
}

TEST_CASE("patchgen plan: a variable's type cannot change, its initializer only warns",
          "[patchgen][plan]") {
  UnitSnapshot retyped = oldVersion();
  retyped.variables["counter"].type = "long";
  UnitPlan plan = dsu::planUnit(base(), oldVersion(), retyped, "p");
  REQUIRE(plan.errors.size() == 1);
  CHECK(plan.errors[0].rfind("u.c:1:1: error: variable 'counter' changed type (long was int)", 0) ==
        0);

  UnitSnapshot reinitialized = oldVersion();
  reinitialized.variables["counter"].init = "5";
  plan = dsu::planUnit(base(), oldVersion(), reinitialized, "p");
  CHECK(plan.errors.empty());
  REQUIRE(plan.warnings.size() == 1);
  CHECK(plan.warnings[0] == "u.c:1:1: warning: the initializer of 'counter' changed; the "
                            "running program keeps the variable's current value");
}

TEST_CASE("patchgen plan: fields added to a shadowed struct are shadow data",
          "[patchgen][plan]") {
  BaseUnit b = base();
  b.shadowed = {"conn"};
  UnitPlan plan = dsu::planUnit(b, withConn(false), withConn(true), "p");
  CHECK(plan.errors.empty());
  REQUIRE(plan.shadowUpdates.size() == 1);
  CHECK(plan.shadowUpdates[0].name == "struct conn");
  CHECK(plan.shadowUpdates[0].added == std::vector<std::string>{"bytes"});
  CHECK(plan.typeUpdates.empty());
}

TEST_CASE("patchgen plan: a layout change of a type that is not wrapped is refused",
          "[patchgen][plan]") {
  BaseUnit b = base();
  b.unwrapped["struct conn"] = "type_not_selected";
  UnitPlan plan = dsu::planUnit(b, withConn(false), withConn(true), "p");
  REQUIRE(plan.errors.size() == 1);
  CHECK(plan.errors[0] == "u.c:3:1: error: struct conn changed layout, but the running program "
                          "does not wrap it (reason: type_not_selected), so its live instances "
                          "cannot be transformed (DSU_CONFIG leaves it out)");
}

TEST_CASE("patchgen plan: a changed __init or __exit function is left out, with a warning",
          "[patchgen][plan]") {
  BaseUnit b = base();
  b.functions["setup"] = "init";
  b.functions["teardown"] = "exit";
  UnitSnapshot older = oldVersion(), newer = oldVersion();
  for (const auto &[name, line] : {std::pair<std::string, unsigned>{"setup", 30}, {"teardown", 40}}) {
    older.functions[name] = function(name, "{ return 0; }", "int (void)", line);
    newer.functions[name] = function(name, "{ return 1; }", "int (void)", line);
  }
  newer.functions["f"] = function("f", "{ return 3; }");
  UnitPlan plan = dsu::planUnit(b, older, newer, "p");
  CHECK(plan.errors.empty());
  CHECK(plan.replaced == std::set<std::string>{"f"});
  CHECK(plan.leftOut == std::set<std::string>{"setup", "teardown"});
  REQUIRE(plan.warnings.size() == 2);
  CHECK(plan.warnings[0] == "u.c:30:1: warning: setup() changed, but it is __init code, which the "
                            "running kernel ran once already (at boot or module load) and has "
                            "freed: the change is left out of the patch and takes effect at the "
                            "next boot");
  CHECK(plan.warnings[1].rfind("u.c:40:1: warning: teardown() changed, but it is __exit code", 0) ==
        0);
}
