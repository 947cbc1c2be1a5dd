#include "Manifest.h"
#include "ManifestReader.h"

#include <catch2/catch.hpp>

using namespace dsu;

namespace {

// A unit with one updateable function (with blocks), one left out, a
// wrapped type, a registered and an unregistered variable.
RewriteResult sampleUnit() {
  RewriteResult r;
  FunctionRecord work;
  work.name = "work";
  work.file = "a.c";
  work.line = 3;
  work.endLine = 9;
  work.external = true;
  work.updateable = true;
  work.bodyHash = "b0d7";
  work.protoHash = "970";
  work.calls = {"helper"};
  work.callsRewritten = 2;
  work.effects.entry = 2;
  work.effects.exit = 0;
  work.effects.succ = {{}, {0}, {1}};
  work.effects.events = {{"call", "helper", 2, 4, {}}, {"type", "struct point", 1, 5, {}},
                         {"icall", "51g", 1, 6, {"struct point"}}};
  work.effects.signature = "51g";
  work.effects.transaction = "syscall";
  FunctionRecord boot;
  boot.name = "boot";
  boot.file = "a.c";
  boot.line = 11;
  boot.reason = Reason::PolicyFunction;
  boot.effects.signature = "b007";
  r.functions = {work, boot};
  TypeRecord point;
  point.name = "struct point";
  point.tag = "point";
  point.file = "a.c";
  point.line = 1;
  point.updateable = true;
  point.repSize = 8;
  point.slop = 64;
  point.unionSize = 72;
  point.unionAlign = 8;
  point.uses = 5;
  r.types = {point};
  VariableRecord counter;
  counter.name = "work.calls";
  counter.function = "work";
  counter.file = "a.c";
  counter.line = 4;
  counter.type = "int";
  counter.registered = true;
  VariableRecord cache;
  cache.name = "cache";
  cache.isConst = true;
  cache.why = "thread-local";
  r.variables = {counter, cache};
  r.addressTaken = {{"helper", "51g", false}};
  r.fieldStores.stores = {{"struct ops::cb", "helper"}};
  r.fieldStores.open = {"struct ops::other"};
  return r;
}

ManifestInfo sampleInfo() {
  ManifestInfo info;
  info.source = "a.c";
  info.object = "a.o";
  info.cwd = "/src";
  info.status = "instrumented";
  info.kernel = true;
  info.unitHash = "4a5h";
  info.tu = "a.c";
  info.compiler = {"ccache", "clang-19"};
  info.arguments = {"-c", "a.c", "-o", "a.o"};
  return info;
}

} // namespace

TEST_CASE("manifest reader: what the writer writes reads back", "[manifest]") {
  ManifestError error;
  auto m = parseManifest(manifestJson(sampleInfo(), sampleUnit()).dump(1), "a.o.dsu.json", error);
  REQUIRE(m);
  CHECK(m->path == "a.o.dsu.json");
  CHECK(m->source == "a.c");
  CHECK(m->object == "a.o");
  CHECK(m->cwd == "/src");
  CHECK(m->kernel);
  CHECK(m->status == "instrumented");
  CHECK(m->unitHash == "4a5h");
  CHECK(m->tu == "a.c");
  CHECK(m->hasCommandLine);
  CHECK(m->compiler == std::vector<std::string>{"ccache", "clang-19"});
  CHECK(m->arguments == std::vector<std::string>{"-c", "a.c", "-o", "a.o"});

  REQUIRE(m->functions.size() == 2);
  const ManifestFunction &work = m->functions[0];
  CHECK(work.name == "work");
  CHECK(work.line == 3);
  CHECK(work.endLine == 9);
  CHECK(work.external);
  CHECK(work.updateable);
  CHECK(work.bodyHash == "b0d7");
  CHECK(work.calls == std::vector<std::string>{"helper"});
  CHECK(work.callsThroughPointer == 2);
  CHECK(work.transaction == "syscall");
  REQUIRE(work.effects);
  CHECK(work.effects->entry == 2);
  REQUIRE(work.effects->succ);
  CHECK(work.effects->succ->size() == 3);
  REQUIRE(work.effects->events.size() == 3);
  CHECK(work.effects->events[2].kind == "icall");
  CHECK(work.effects->events[2].during == std::vector<std::string>{"struct point"});
  const ManifestFunction &boot = m->functions[1];
  CHECK_FALSE(boot.updateable);
  CHECK_FALSE(boot.external);
  CHECK(boot.reason == reasonId(Reason::PolicyFunction));
  CHECK(boot.reasonText == reasonText(Reason::PolicyFunction));
  REQUIRE(boot.effects);
  CHECK_FALSE(boot.effects->succ); // fewer than two events: no blocks written
  CHECK(boot.effects->signature == "b007");

  REQUIRE(m->types.size() == 1);
  CHECK(m->types[0].name == "struct point");
  CHECK(m->types[0].updateable);
  CHECK(m->types[0].unionSize == 72);
  CHECK(m->types[0].unionAlign == 8);
  CHECK(m->types[0].slop == 64);
  CHECK(m->types[0].usesRewritten == 5);

  REQUIRE(m->variables.size() == 2);
  CHECK(m->variables[0].name == "work.calls");
  CHECK(m->variables[0].function == "work");
  CHECK(m->variables[0].registered);
  CHECK(m->variables[1].isConst);
  CHECK(m->variables[1].reasonText == "thread-local");

  REQUIRE(m->addressTaken.size() == 1);
  CHECK(m->addressTaken[0].name == "helper");
  CHECK(m->addressTaken[0].signature == "51g");
  CHECK(m->hasFieldStores);
  REQUIRE(m->fieldStores.size() == 1);
  CHECK(m->fieldStores[0].second == "helper");
  CHECK(m->openFields == std::vector<std::string>{"struct ops::other"});
}

TEST_CASE("manifest reader: what a manifest leaves out is not made up", "[manifest]") {
  ManifestError error;
  auto m = parseManifest(R"({"schema": "dsu-manifest/1", "functions": [{"name": "f"}]})",
                         "old.dsu.json", error);
  REQUIRE(m);
  CHECK_FALSE(m->hasCommandLine);
  CHECK_FALSE(m->hasFieldStores);
  CHECK_FALSE(m->kernel);
  REQUIRE(m->functions.size() == 1);
  CHECK_FALSE(m->functions[0].effects);
}

TEST_CASE("manifest reader: another schema is refused", "[manifest]") {
  ManifestError error;
  CHECK_FALSE(parseManifest(R"({"schema": "dsu-patch/1"})", "p.json", error));
  CHECK(error.message() == "p.json: error: not a dsu-manifest/1 file");
  CHECK_FALSE(parseManifest(R"({"schema": 1})", "p.json", error));
  CHECK(error.message() == "p.json: error: not a dsu-manifest/1 file");
  CHECK_FALSE(parseManifest("[]", "p.json", error));
  CHECK(error.message() == "p.json: error: not a dsu-manifest/1 file");
}

TEST_CASE("manifest reader: malformed JSON and fields are refused", "[manifest]") {
  ManifestError error;
  CHECK_FALSE(parseManifest("{\"schema\": ", "a.o.dsu.json", error));
  CHECK(error.path == "a.o.dsu.json");
  CHECK(error.reason == "not valid JSON");
  CHECK(error.message() == "a.o.dsu.json: error: not valid JSON");
  CHECK_FALSE(parseManifest(R"({"schema": "dsu-manifest/1", "functions": [{"line": 3}]})",
                            "a.o.dsu.json", error));
  CHECK(error.message().rfind("a.o.dsu.json: error: malformed manifest: ", 0) == 0);
  CHECK_FALSE(readManifestFile("/nonexistent/a.o.dsu.json", error));
  CHECK(error.reason.rfind("cannot read the manifest: ", 0) == 0);
}
