// The update core (runtime/core/dsu_core.c) against a fake registry: what a
// patch must match to be prepared, what commit and revert do to pointers,
// and how stacked patches see what earlier ones added.
#include <catch2/catch.hpp>

extern "C" {
#include "dsu_core.h"
#include "dsu_registry.h"
}

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <utility>

namespace {

int oldA() { return 1; }
int oldB() { return 2; }
int newA() { return 10; }
int newB() { return 20; }
int newerA() { return 100; }
int added() { return 7; }

void *ptrA = (void *)oldA;
void *ptrB = (void *)oldB;
int counter = 5;
void *addedPtr = (void *)added;

__dsu_func_desc descA{DSU_ABI_VERSION, 0, "a", "u.c", &ptrA, (void *)oldA, (void *)oldA, "H1"};
__dsu_func_desc descB{DSU_ABI_VERSION, 0, "b", "u.c", &ptrB, (void *)oldB, (void *)oldB, "H1"};
__dsu_var_desc descCounter{DSU_ABI_VERSION, 0, "counter", "u.c", &counter, sizeof counter, "H1"};
__dsu_func_desc descAdded{DSU_ABI_VERSION, 0, "added", "u.c", &addedPtr, (void *)added,
                          (void *)added, "H1"};

void *findSymbol(const char *name) { return !std::strcmp(name, "sym") ? (void *)&counter : nullptr; }
void *zalloc(unsigned long n) { return std::calloc(1, n); }

// A wrapped type "struct T" of u.c: { int x; int y; } in version 0.
struct RepT0 {
  int x, y;
};
struct RepT1 {
  int y;
  long z;
  int x;
};
struct WrappedT {
  unsigned int version;
  unsigned int tag;
  union {
    RepT0 data;
    char slop[sizeof(RepT0) + 16];
  } u;
};
const unsigned tagT = dsu_core_hash("u.c", "struct T");
__dsu_type_desc descT{DSU_ABI_VERSION, 0, tagT, "struct T", "u.c", sizeof(WrappedT), sizeof(RepT0),
                      offsetof(WrappedT, u), sizeof(WrappedT::u), "H1", nullptr};

// The base: a, b, counter and struct T of u.c (built with hash H1).
void *zallocArray(unsigned long n, unsigned long size) { return std::calloc(n, size); }
void ignoreWarning(const char *) {}
const dsu_registry_ops registryOps{zallocArray, std::free, ignoreWarning};
const dsu_registry *baseRegistry() {
  static dsu_registry reg;
  static bool built = false;
  if (!built) {
    if (dsu_registry_init(&reg, &registryOps, 2, 1, 1))
      std::abort();
    dsu_registry_add_func(&reg, &descA);
    dsu_registry_add_func(&reg, &descB);
    dsu_registry_add_var(&reg, &descCounter);
    dsu_registry_add_type(&reg, &descT);
    built = true;
  }
  return &reg;
}

const dsu_env env{baseRegistry(), findSymbol, zalloc, std::free, zalloc, nullptr};

struct Patch {
  __dsu_patch_unit units[1] = {{"u.c", "H1"}};
  __dsu_patch_func funcs[2] = {{"u.c", "a", (void *)newA}, {"u.c", "b", (void *)newB}};
  void *slots[3] = {};
  __dsu_patch_ref refs[3] = {{DSU_REF_VAR, "u.c", "counter", &slots[0]},
                             {DSU_REF_FUNC, "u.c", "b", &slots[1]},
                             {DSU_REF_SYMBOL, nullptr, "sym", &slots[2]}};
  __dsu_patch p{DSU_ABI_VERSION, 1, 2, 3, 0, 0, 0, "p1", "", units, funcs, refs, nullptr, nullptr,
                nullptr};
};

std::string prepareError(dsu_core &core, const __dsu_patch &p) {
  dsu_applied *a = nullptr;
  char err[DSU_CORE_ERRLEN] = "";
  int rc = dsu_core_prepare(&core, &p, &a, err, sizeof err);
  if (rc == 0) {
    dsu_core_discard(&core, a);
    return "";
  }
  REQUIRE(a == nullptr);
  return err;
}

std::string fmt_abi(const char *what, unsigned abi) {
  return std::string(what) + " of u.c was built with DSU ABI " + std::to_string(abi) +
         ", the runtime has " + std::to_string(DSU_ABI_VERSION);
}

void reset() {
  ptrA = (void *)oldA;
  ptrB = (void *)oldB;
  descA.version = descB.version = 0;
}

} // namespace

TEST_CASE("prepare resolves references and commit/revert switch pointers", "[core]") {
  reset();
  dsu_core core;
  dsu_core_init(&core, &env);
  Patch patch;
  dsu_applied *a = nullptr;
  char err[DSU_CORE_ERRLEN];
  REQUIRE(dsu_core_prepare(&core, &patch.p, &a, err, sizeof err) == 0);
  CHECK(patch.slots[0] == &counter);
  CHECK(patch.slots[1] == (void *)oldB); // the stub
  CHECK(patch.slots[2] == &counter);
  CHECK(ptrA == (void *)oldA); // nothing changed yet

  void *code[4];
  REQUIRE(dsu_core_apply_code(a, code, 4) == 2);
  CHECK(code[0] == (void *)oldA);
  dsu_core_commit(&core, a);
  CHECK(ptrA == (void *)newA);
  CHECK(ptrB == (void *)newB);
  CHECK(descA.version == 1);
  CHECK(core.depth == 1);

  REQUIRE(dsu_core_revert_code(&core, code, 4) == 2);
  CHECK(code[0] == (void *)newA);
  dsu_applied *r = dsu_core_revert_commit(&core);
  REQUIRE(r == a);
  dsu_core_discard(&core, r);
  CHECK(ptrA == (void *)oldA);
  CHECK(ptrB == (void *)oldB);
  CHECK(descA.version == 0);
  CHECK(core.depth == 0);
  CHECK(dsu_core_revert_commit(&core) == nullptr);
}

TEST_CASE("prepare refuses patches that do not fit, changing nothing", "[core]") {
  reset();
  dsu_core core;
  dsu_core_init(&core, &env);
  // Each patch is the one that fits with one thing spoiled.
  const std::pair<void (*)(Patch &), const char *> misfits[] = {
      {[](Patch &p) { p.p.abi = DSU_ABI_VERSION + 1; }, "has DSU ABI"},
      {[](Patch &p) { p.units[0].unit_hash = "H2"; }, "built against another build of u.c"},
      {[](Patch &p) {
         p.units[0].tu = "v.c";
         p.funcs[0].tu = p.funcs[1].tu = "v.c";
         p.p.nrefs = 0;
       },
       "does not have"},
      {[](Patch &p) { p.funcs[1].name = "missing"; }, "not an updateable function"},
      {[](Patch &p) { p.funcs[1].name = "a"; }, "replaces u.c:a twice"},
      {[](Patch &p) { p.refs[0].name = "nothing"; }, "does not register"},
      {[](Patch &p) { p.refs[2].name = "nosym"; }, "needs symbol nosym"},
      {[](Patch &p) { p.refs[1].tu = "other.c"; }, "does not list unit other.c"},
      {[](Patch &p) { p.p.parent = "p0"; }, "must be applied on top of p0"},
      {[](Patch &p) { p.p.name = nullptr; }, "malformed patch"},
  };
  for (const auto &[spoil, error] : misfits) {
    Patch p;
    spoil(p);
    CHECK_THAT(prepareError(core, p.p), Catch::Contains(error));
  }
  // A running descriptor from another ABI is not read past its first field.
  descB.abi = DSU_ABI_VERSION + 1;
  CHECK(prepareError(core, Patch().p) ==
        fmt_abi("b", DSU_ABI_VERSION + 1));
  descB.abi = DSU_ABI_VERSION;
  CHECK(ptrA == (void *)oldA);
  CHECK(core.depth == 0);
}

TEST_CASE("stacked patches: parent order, added functions, revert to the one below", "[core]") {
  reset();
  dsu_core core;
  dsu_core_init(&core, &env);
  Patch p1;
  __dsu_func_desc *newFuncs[] = {&descAdded};
  p1.p.new_funcs = newFuncs;
  p1.p.nnew_funcs = 1;
  dsu_applied *a1 = nullptr, *a2 = nullptr;
  char err[DSU_CORE_ERRLEN];
  REQUIRE(dsu_core_prepare(&core, &p1.p, &a1, err, sizeof err) == 0);
  dsu_core_commit(&core, a1);
  CHECK(dsu_core_find_func(&core, "u.c", "added") == &descAdded);

  // p2 replaces a again and the function p1 added.
  __dsu_patch_unit units[] = {{"u.c", "H1"}};
  __dsu_patch_func funcs[] = {{"u.c", "a", (void *)newerA}, {"u.c", "added", (void *)newB}};
  __dsu_patch p2{DSU_ABI_VERSION, 1, 2, 0, 0, 0, 0, "p2", "p1", units, funcs, nullptr, nullptr,
                 nullptr, nullptr};
  Patch again;
  CHECK_THAT(prepareError(core, again.p), Catch::Contains("already applied"));
  REQUIRE(dsu_core_prepare(&core, &p2, &a2, err, sizeof err) == 0);
  dsu_core_commit(&core, a2);
  CHECK(ptrA == (void *)newerA);
  CHECK(addedPtr == (void *)newB);
  CHECK(descA.version == 2);

  dsu_core_discard(&core, dsu_core_revert_commit(&core));
  CHECK(ptrA == (void *)newA);
  CHECK(addedPtr == (void *)added);
  CHECK(descA.version == 1);
  dsu_core_discard(&core, dsu_core_revert_commit(&core));
  CHECK(ptrA == (void *)oldA);
  CHECK(dsu_core_find_func(&core, "u.c", "added") == nullptr);
}

namespace {

std::atomic<int> transforms{0};

// Version 0 -> 1: fields move, z is new (defaults to x + y).
void transformT1(void *to, const void *from) {
  auto *n = static_cast<RepT1 *>(to);
  const auto *o = static_cast<const RepT0 *>(from);
  CHECK(n->z == 0); // handed over zeroed
  n->x = o->x;
  n->y = o->y;
  n->z = o->x + o->y;
  transforms++;
  // Long enough for a second thread to find the instance busy.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

struct TypePatch {
  __dsu_patch_unit units[1] = {{"u.c", "H1"}};
  __dsu_patch_type types[1] = {{"u.c", "struct T", 1, sizeof(RepT1), transformT1}};
  void *slots[1] = {};
  __dsu_patch_ref refs[1] = {{DSU_REF_TYPE, "u.c", "struct T", &slots[0]}};
  __dsu_patch p{DSU_ABI_VERSION, 1, 0, 1, 0, 0, 1, "pt", "", units, nullptr, refs, nullptr,
                nullptr, types};
};

std::string slowError(dsu_core &core, WrappedT &obj, unsigned expected) {
  char err[DSU_CORE_ERRLEN] = "";
  return dsu_core_type_slow(&core, &descT, &obj, expected, err, sizeof err) ? err : "";
}

} // namespace

TEST_CASE("type updates: checks, lazy exactly-once transform, no revert", "[core][types]") {
  descT.version_now = 0;
  dsu_core core;
  dsu_core_init(&core, &env);
  WrappedT fresh{}, old{}, racy{};
  // Version 0: fresh (zeroed) memory is marked, marked memory passes.
  CHECK(slowError(core, fresh, 0).empty());
  CHECK(fresh.version == DSU_TYPE_MAGIC);
  CHECK(fresh.tag == tagT);
  old.version = DSU_TYPE_MAGIC;
  old.tag = tagT;
  old.u.data = {3, 4};
  racy.version = DSU_TYPE_MAGIC;
  racy.tag = tagT;
  racy.u.data = {5, 6};
  {
    // Fresh memory holding what looks like a newer instance, but of another
    // type (or any bytes: kmalloc'd memory had the magic): marked, no error.
    WrappedT garbage{};
    garbage.version = DSU_TYPE_MAGIC | 0x28e6f9;
    garbage.tag = tagT ^ 1;
    garbage.u.data = {8, 9};
    CHECK(slowError(core, garbage, 0).empty());
    CHECK(garbage.version == DSU_TYPE_MAGIC);
    CHECK(garbage.tag == tagT);
    CHECK(garbage.u.data.x == 8); // not touched
    // With its own tag, a newer version is an error.
    garbage.version = DSU_TYPE_MAGIC | 3;
    CHECK_THAT(slowError(core, garbage, 0), Catch::Contains("newer than the running version"));
  }
  {
    // A descriptor whose tag is not the hash of its (tu, name) is refused:
    // its instances' tags would not match, and none would be transformed.
    TypePatch tp;
    descT.tag ^= 1;
    CHECK_THAT(prepareError(core, tp.p), Catch::Contains("has tag"));
    descT.tag ^= 1;
  }

  const std::pair<void (*)(TypePatch &), const char *> misfits[] = {
      {[](TypePatch &tp) { tp.types[0].rep_size = sizeof(WrappedT::u) + 1; }, "does not fit in the"},
      {[](TypePatch &tp) { tp.types[0].version = 2; }, "has it in version 0"},
      {[](TypePatch &tp) { tp.types[0].name = "struct U"; }, "does not wrap"},
      {[](TypePatch &tp) {
         static __dsu_patch_type twice[2];
         twice[0] = twice[1] = tp.types[0];
         tp.p.types = twice;
         tp.p.ntypes = 2;
       },
       "changes struct T of u.c twice"},
  };
  for (const auto &[spoil, error] : misfits) {
    TypePatch tp;
    spoil(tp);
    CHECK_THAT(prepareError(core, tp.p), Catch::Contains(error));
  }
  descT.abi = DSU_ABI_VERSION + 1;
  CHECK(prepareError(core, TypePatch().p) == fmt_abi("struct T", DSU_ABI_VERSION + 1));
  descT.abi = DSU_ABI_VERSION;
  CHECK(descT.version_now == 0);

  TypePatch tp;
  dsu_applied *a = nullptr;
  char err[DSU_CORE_ERRLEN];
  REQUIRE(dsu_core_prepare(&core, &tp.p, &a, err, sizeof err) == 0);
  CHECK(tp.slots[0] == &descT);
  dsu_core_commit(&core, a);
  CHECK(descT.version_now == 1);
  CHECK(transforms == 0); // lazily: nothing touched yet

  // Code built for version 0 is stale now.
  CHECK_THAT(slowError(core, old, 0), Catch::Contains("code built for version 0 ran after"));
  CHECK(old.version == DSU_TYPE_MAGIC);

  CHECK(slowError(core, old, 1).empty());
  CHECK(old.version == (DSU_TYPE_MAGIC | 1));
  const RepT1 &o1 = *reinterpret_cast<RepT1 *>(&old.u);
  CHECK(o1.x == 3);
  CHECK(o1.y == 4);
  CHECK(o1.z == 7);
  CHECK(transforms == 1);
  CHECK(slowError(core, old, 1).empty()); // done once
  CHECK(transforms == 1);

  // Two threads reach the same old instance: one transforms, the other
  // waits for it and finds it done.
  std::string e1, e2;
  std::thread t1([&] { e1 = slowError(core, racy, 1); });
  std::thread t2([&] { e2 = slowError(core, racy, 1); });
  t1.join();
  t2.join();
  CHECK(e1.empty());
  CHECK(e2.empty());
  CHECK(transforms == 2);
  CHECK(reinterpret_cast<RepT1 *>(&racy.u)->z == 11);

  CHECK(dsu_core_revert_check(&core, err, sizeof err) == -1);
  CHECK_THAT(std::string(err), Catch::Contains("cannot be reverted"));
}
