// The registry both runtimes share (runtime/core/dsu_registry.c): lookups by
// (unit, name), names registered twice, units built twice, malformed
// descriptors, and a failed allocation.
#include <catch2/catch.hpp>

extern "C" {
#include "dsu_registry.h"
}

#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

std::vector<std::string> warnings;
int allocations = 0, failAllocation = -1;

void *zallocArray(unsigned long n, unsigned long size) {
  if (allocations++ == failAllocation)
    return nullptr;
  return std::calloc(n, size);
}
int frees = 0;
void freeSlots(void *p) {
  if (p)
    frees++;
  std::free(p);
}
void warn(const char *msg) { warnings.push_back(msg); }

const dsu_registry_ops ops = {zallocArray, freeSlots, warn};

void *ptr;
void fn() {}

__dsu_func_desc func(const char *tu, const char *name, const char *unitHash = "H1") {
  return {DSU_ABI_VERSION, 0, name, tu, &ptr, (void *)fn, (void *)fn, unitHash};
}

struct Fixture {
  dsu_registry reg;
  Fixture(unsigned nf = 4, unsigned nv = 4, unsigned nt = 4) {
    warnings.clear();
    allocations = 0;
    failAllocation = -1;
    REQUIRE(dsu_registry_init(&reg, &ops, nf, nv, nt) == 0);
  }
  ~Fixture() { dsu_registry_release(&reg); }
};

} // namespace

TEST_CASE("registry: functions, variables and types are found by unit and name") {
  Fixture f;
  __dsu_func_desc a = func("a.c", "run"), b = func("b.c", "run", "H2");
  int counter = 0;
  __dsu_var_desc v{DSU_ABI_VERSION, 0, "counter", "a.c", &counter, sizeof counter, "H1"};
  __dsu_type_desc t{DSU_ABI_VERSION, 0, 0, "struct T", "b.c", 32, 8, 8, 24, "H2", nullptr};
  CHECK(dsu_registry_add_func(&f.reg, &a) == 1);
  CHECK(dsu_registry_add_func(&f.reg, &b) == 1);
  CHECK(dsu_registry_add_var(&f.reg, &v) == 1);
  CHECK(dsu_registry_add_type(&f.reg, &t) == 1);

  CHECK(dsu_registry_find_func(&f.reg, "a.c", "run") == &a);
  CHECK(dsu_registry_find_func(&f.reg, "b.c", "run") == &b);
  CHECK(dsu_registry_find_func(&f.reg, "c.c", "run") == nullptr);
  CHECK(dsu_registry_find_func(&f.reg, "a.c", "counter") == nullptr);
  CHECK(dsu_registry_find_var(&f.reg, "a.c", "counter") == &v);
  CHECK(dsu_registry_find_type(&f.reg, "b.c", "struct T") == &t);
  CHECK(dsu_registry_find_type(&f.reg, "a.c", "struct T") == nullptr);
  CHECK(std::string(dsu_registry_unit_hash(&f.reg, "a.c")) == "H1");
  CHECK(std::string(dsu_registry_unit_hash(&f.reg, "b.c")) == "H2");
  CHECK(dsu_registry_unit_hash(&f.reg, "c.c") == nullptr);
  CHECK(dsu_registry_find_func(&f.reg, nullptr, "run") == nullptr);
  CHECK(f.reg.funcs.count == 2);
  CHECK(f.reg.units.count == 2);
  CHECK(dsu_registry_ambiguous(&f.reg) == 0);
  CHECK(warnings.empty());
}

TEST_CASE("registry: the same descriptor found twice is one entry") {
  Fixture f;
  __dsu_func_desc a = func("a.c", "run");
  dsu_registry_add_func(&f.reg, &a);
  dsu_registry_add_func(&f.reg, &a);
  CHECK(f.reg.funcs.count == 1);
  CHECK(dsu_registry_find_func(&f.reg, "a.c", "run") == &a);
  CHECK(warnings.empty());
}

TEST_CASE("registry: a name registered twice, differently, is never answered") {
  Fixture f;
  __dsu_func_desc a = func("a.c", "run"), again = func("a.c", "run"), third = func("a.c", "run");
  dsu_registry_add_func(&f.reg, &a);
  dsu_registry_add_func(&f.reg, &again);
  dsu_registry_add_func(&f.reg, &third);
  CHECK(dsu_registry_find_func(&f.reg, "a.c", "run") == nullptr);
  CHECK(f.reg.funcs.dups == 1);
  CHECK(dsu_registry_ambiguous(&f.reg) == 1);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "a.c:run is registered twice; patches cannot refer to it");
  // The unit's hash agrees: the unit is still known.
  CHECK(std::string(dsu_registry_unit_hash(&f.reg, "a.c")) == "H1");
}

TEST_CASE("registry: a unit built twice answers a hash no patch matches") {
  Fixture f;
  __dsu_func_desc a = func("a.c", "one", "H1"), b = func("a.c", "two", "H9");
  dsu_registry_add_func(&f.reg, &a);
  dsu_registry_add_func(&f.reg, &b);
  CHECK(dsu_registry_find_func(&f.reg, "a.c", "one") == &a);
  CHECK(dsu_registry_unit_hash(&f.reg, "a.c") == dsu_registry_unit_conflict);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "a.c:(unit hash) is registered twice; patches cannot refer to it");
}

TEST_CASE("registry: descriptors of another ABI or with a field missing are skipped") {
  Fixture f;
  __dsu_func_desc otherAbi = func("a.c", "f"), noPtr = func("a.c", "g"), noHash = func("a.c", "h");
  otherAbi.abi = DSU_ABI_VERSION + 1;
  noPtr.ptr = nullptr;
  noHash.unit_hash = nullptr;
  int x = 0;
  __dsu_var_desc noAddr{DSU_ABI_VERSION, 0, "x", "a.c", nullptr, sizeof x, "H1"};
  __dsu_type_desc tooBig{DSU_ABI_VERSION, 0, 0, "struct T", "a.c", 16, 8, 8, 24, "H1", nullptr};
  CHECK(dsu_registry_add_func(&f.reg, &otherAbi) == 0);
  CHECK(dsu_registry_add_func(&f.reg, &noPtr) == 0);
  CHECK(dsu_registry_add_func(&f.reg, &noHash) == 0);
  CHECK(dsu_registry_add_var(&f.reg, &noAddr) == 0);
  CHECK(dsu_registry_add_type(&f.reg, &tooBig) == 0);
  CHECK(f.reg.skipped == 5);
  CHECK(dsu_registry_find_func(&f.reg, "a.c", "f") == nullptr);
  CHECK(dsu_registry_unit_hash(&f.reg, "a.c") == nullptr);
}

TEST_CASE("registry: every one of many names is found (probing past collisions)") {
  const unsigned n = 5000;
  Fixture f(n, 0, 0);
  std::deque<std::string> names;
  std::vector<__dsu_func_desc> descs;
  descs.reserve(n);
  for (unsigned i = 0; i < n; i++) {
    names.push_back("f" + std::to_string(i));
    descs.push_back(func(i % 2 ? "odd.c" : "even.c", names.back().c_str()));
    dsu_registry_add_func(&f.reg, &descs.back());
  }
  CHECK(f.reg.funcs.count == n);
  CHECK(f.reg.funcs.mask + 1 >= 2 * n);
  unsigned found = 0;
  for (unsigned i = 0; i < n; i++)
    found += dsu_registry_find_func(&f.reg, i % 2 ? "odd.c" : "even.c", names[i].c_str()) == &descs[i];
  CHECK(found == n);
  CHECK(dsu_registry_find_func(&f.reg, "odd.c", "f0") == nullptr);
}

TEST_CASE("registry: out of memory leaves nothing allocated") {
  for (int fail = 0; fail < 4; fail++) {
    warnings.clear();
    allocations = 0;
    frees = 0;
    failAllocation = fail;
    dsu_registry reg;
    CHECK(dsu_registry_init(&reg, &ops, 10, 10, 10) == -1);
    CHECK(frees == fail);
    CHECK(reg.funcs.slots == nullptr);
    CHECK(dsu_registry_find_func(&reg, "a.c", "f") == nullptr);
    CHECK(dsu_registry_unit_hash(&reg, "a.c") == nullptr);
  }
  failAllocation = -1;
}
