// Which files a unit's compile read, from what the build kept beside the
// object: kbuild's .<obj>.cmd and -MD depfiles.
#include "HeaderChange.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace dsu;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dsu-headers-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string &name, const std::string &text) const {
    std::ofstream(path / name) << text;
  }
};
} // namespace

TEST_CASE("recordedDependencies: kbuild's command file, config wildcards left out",
          "[patchgen][headers]") {
  TempDir d;
  d.write(".open.o.cmd", "savedcmd_fs/open.o := clang -c -o fs/open.o fs/open.c\n"
                         "\n"
                         "source_fs/open.o := fs/open.c\n"
                         "\n"
                         "deps_fs/open.o := \\\n"
                         "    $(wildcard include/config/COMPAT) \\\n"
                         "  include/linux/compiler-version.h \\\n"
                         "    $(wildcard include/config/CC_VERSION_TEXT) \\\n"
                         "  include/linux/kernel/../internals.h \\\n"
                         "  fs/internal.h \\\n"
                         "\n"
                         "fs/open.o: $(deps_fs/open.o)\n"
                         "\n"
                         "$(deps_fs/open.o):\n");
  auto deps = recordedDependencies((d.path / "open.o").string());
  REQUIRE(deps);
  CHECK(*deps == std::vector<std::string>{"include/linux/compiler-version.h",
                                          "include/linux/kernel/../internals.h",
                                          "fs/internal.h"});
}

TEST_CASE("recordedDependencies: a -MD depfile beside the object, or none",
          "[patchgen][headers]") {
  TempDir d;
  CHECK_FALSE(recordedDependencies((d.path / "a.o").string()));
  d.write("a.d", "a.o: a.c calc.h \\\n  sub/with\\ space.h /usr/include/stdio.h\n\ncalc.h:\n");
  auto deps = recordedDependencies((d.path / "a.o").string());
  REQUIRE(deps);
  CHECK(*deps ==
        std::vector<std::string>{"a.c", "calc.h", "sub/with space.h", "/usr/include/stdio.h"});
}

TEST_CASE("includedHeaders: relative entries from the compile's directory, by canonical path",
          "[patchgen][headers]") {
  TempDir d;
  fs::create_directories(d.path / "include/linux");
  fs::create_directories(d.path / "kernel");
  d.write("include/linux/x.h", "");
  d.write("kernel/x.h", "");
  const std::string root = fs::canonical(d.path).string();
  const std::set<std::string> headers{root + "/include/linux/x.h"};
  const std::vector<std::string> deps{"kernel/x.h", "include/linux/../linux/x.h"};
  CHECK(namesAnyFileOf(deps, headers));
  CHECK(includedHeaders(deps, root, headers) == headers);
  CHECK(includedHeaders({"kernel/x.h"}, root, headers).empty());
  CHECK_FALSE(namesAnyFileOf({"kernel/y.h"}, headers));
}
