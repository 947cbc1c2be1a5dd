#include "Policy.h"

#include <catch2/catch.hpp>

using dsu::globMatch;
using dsu::Policy;

namespace {
// A policy read from `text`, which must be valid.
Policy parsedPolicy(const std::string &text) {
  Policy p;
  std::string err;
  REQUIRE(p.parse(text, "p.cfg", err));
  return p;
}
} // namespace

TEST_CASE("glob: '*' stays within a component, '**' crosses them", "[policy]") {
  struct Case {
    const char *pattern, *path;
    bool matches;
  };
  const Case cases[] = {
      {"fs/*.c", "fs/open.c", true},
      {"fs/*.c", "fs/proc/base.c", false},
      {"fs/**", "fs/proc/base.c", true},
      {"fs/**/base.c", "fs/proc/base.c", true},
      {"fs/**/open.c", "fs/open.c", true},
      {"do_*", "do_sys_open", true},
      {"do_*", "vfs_open", false},
      {"?fs_open", "vfs_open", true},
      {"arch/*/boot/**", "arch/x86/boot/compressed/misc.c", true},
      {"arch/*/boot/**", "arch/x86/kernel/boot.c", false},
      {"*", "", true},
      {"a", "", false}};
  for (const Case &c : cases) {
    INFO(c.pattern << " ~ " << c.path);
    CHECK(globMatch(c.pattern, c.path) == c.matches);
  }
}

TEST_CASE("policy: last matching rule wins, includes make the default exclude", "[policy]") {
  Policy p = parsedPolicy("include file fs/**\nexclude file fs/proc/** procfs is hot\n"
                          "include file fs/proc/base.c\n");
  CHECK(p.file("fs/open.c").instrument);
  auto proc = p.file("fs/proc/array.c");
  CHECK_FALSE(proc.instrument);
  CHECK(proc.reason == "procfs is hot");
  CHECK(proc.rule == "p.cfg:2");
  CHECK(p.file("fs/proc/base.c").instrument);
  auto mm = p.file("mm/slub.c");
  CHECK_FALSE(mm.instrument);
  CHECK(mm.reason == "not selected by any include rule");
  // No function rules: every function is instrumented.
  CHECK(p.function("anything").instrument);
}

TEST_CASE("policy: function and type rules", "[policy]") {
  Policy p =
      parsedPolicy("exclude function __schedule\nexclude function *_fast*\ninclude type task_*\n");
  CHECK_FALSE(p.function("__schedule").instrument);
  CHECK_FALSE(p.function("copy_fast_path").instrument);
  CHECK(p.function("vfs_read").instrument);
  CHECK(p.type("task_struct").instrument);
  CHECK_FALSE(p.type("inode").instrument);
}

TEST_CASE("policy: built-in exclusions cannot be overridden", "[policy]") {
  Policy p = parsedPolicy("include file **\n");
  auto vdso = p.file("arch/x86/entry/vdso/vclock_gettime.c");
  CHECK_FALSE(vdso.instrument);
  CHECK(vdso.rule == "built-in");
  // Early boot, firmware stubs and the vDSO run before or outside the
  // kernel the runtime lives in, wherever the tree is.
  const std::pair<const char *, const char *> neverInstrumented[] = {
      {"/src/linux/arch/x86/boot/compressed/misc.c", "/build"},
      {"../linux/drivers/firmware/efi/libstub/efi-stub.c", ""},
      {"arch/x86/kernel/head64.c", ""},
      {"arch/x86/realmode/rm/wakemain.c", ""},
      {"arch/x86/purgatory/purgatory.c", ""}};
  for (const auto &[path, cwd] : neverInstrumented) {
    INFO(path);
    CHECK_FALSE(p.file(path, cwd).instrument);
  }
  CHECK(p.file("arch/x86/kernel/process.c").instrument);
}

TEST_CASE("policy: paths are taken relative to the working directory", "[policy]") {
  CHECK(Policy::normalizePath("/k/linux/fs/open.c", "/k/linux") == "fs/open.c");
  CHECK(Policy::normalizePath("./fs//./open.c", "/k") == "fs/open.c");
  CHECK(Policy::normalizePath("/elsewhere/a.c", "/k") == "/elsewhere/a.c");
}

TEST_CASE("policy: malformed lines are reported with file:line:col", "[policy]") {
  Policy p;
  std::string err;
  CHECK_FALSE(p.parse("include file a\n  instrument file b\n", "bad.cfg", err));
  CHECK(err == "bad.cfg:2:3: error: unknown action 'instrument' (expected 'include' or 'exclude')");
  CHECK_FALSE(p.parse("exclude function\n", "bad.cfg", err));
  CHECK(err.rfind("bad.cfg:1:", 0) == 0);
  CHECK(err.find("missing glob") != std::string::npos);
  CHECK_FALSE(p.parseFile("/nonexistent/policy", err));
  CHECK(err == "/nonexistent/policy: error: cannot read policy file");
}
