#include "Argv.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

using dsu::classifyCommandLine;

namespace {
struct TempSource {
  std::string path;
  explicit TempSource(const char *name) {
    path = std::string("/tmp/dsu-argv-test-") + std::to_string(getpid()) + "-" + name;
    std::ofstream(path) << "int f(void) { return 0; }\n";
  }
  ~TempSource() { std::remove(path.c_str()); }
};

dsu::CompileJob classify(std::vector<std::string> args) {
  return classifyCommandLine(args, DSU_DEFAULT_CLANG);
}

bool contains(const std::vector<std::string> &v, const std::string &s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
} // namespace

TEST_CASE("argv: compiling one C file to an object is instrumented", "[argv]") {
  TempSource src("a.c");
  auto job = classify({"-O2", "-DFOO=1", "-Iinc", "-c", src.path, "-o", "/tmp/x.o"});
  REQUIRE(job.instrument);
  CHECK(job.source == src.path);
  CHECK(job.object == "/tmp/x.o");
  CHECK_FALSE(job.kernel);
  // Preprocess keeps preprocessor flags, drops -c/-o, adds -E.
  CHECK(contains(job.preprocessOnlyArgs, "FOO=1"));
  CHECK(contains(job.preprocessOnlyArgs, "-E"));
  CHECK_FALSE(contains(job.preprocessOnlyArgs, "-c"));
  // The parse keeps them too, without the input.
  CHECK(contains(job.parseArgs, "FOO=1"));
  CHECK_FALSE(contains(job.parseArgs, src.path));
  CHECK(job.dependencyArgs.empty());
  // Compile of the rewritten unit keeps code-generation flags and -c -o only.
  CHECK(contains(job.compileArgs, "-O2"));
  CHECK(contains(job.compileArgs, "-c"));
  CHECK(contains(job.compileArgs, "/tmp/x.o"));
  CHECK_FALSE(contains(job.compileArgs, "FOO=1"));
  CHECK_FALSE(contains(job.compileArgs, src.path));
}

TEST_CASE("argv: kbuild's object rule", "[argv]") {
  TempSource src("open.c");
  auto job = classify({"-Wp,-MMD,fs/.open.o.d", "-nostdinc", "-I./arch/x86/include", "-include",
                       "./include/linux/compiler_types.h", "-D__KERNEL__", "-std=gnu11",
                       "-mcmodel=kernel", "-c", "-o", "fs/open.o", src.path});
  REQUIRE(job.instrument);
  CHECK(job.kernel);
  // The parse writes the dependency file, naming the object.
  CHECK(contains(job.dependencyArgs, "-Wp,-MMD,fs/.open.o.d"));
  CHECK(contains(job.dependencyArgs, "-MT"));
  CHECK(contains(job.dependencyArgs, "fs/open.o"));
  CHECK_FALSE(contains(job.parseArgs, "-Wp,-MMD,fs/.open.o.d"));
  CHECK_FALSE(contains(job.preprocessOnlyArgs, "-Wp,-MMD,fs/.open.o.d"));
  CHECK_FALSE(contains(job.compileArgs, "-include"));
  CHECK_FALSE(contains(job.compileArgs, "-Wp,-MMD,fs/.open.o.d"));
  CHECK_FALSE(contains(job.compileArgs, "-nostdinc"));
  CHECK(contains(job.compileArgs, "-mcmodel=kernel"));
  CHECK(contains(job.parseArgs, "-std=gnu11"));
}

TEST_CASE("argv: everything else passes through", "[argv]") {
  TempSource src("b.c");
  TempSource asmSrc("c.S");
  CHECK_FALSE(classify({"--version"}).instrument);
  CHECK_FALSE(classify({"-E", src.path}).instrument);
  CHECK_FALSE(classify({"-E", "-P", "-x", "c", "-"}).instrument);
  CHECK_FALSE(classify({"-S", src.path, "-o", "x.s"}).instrument);
  CHECK_FALSE(classify({"-c", asmSrc.path, "-o", "x.o"}).instrument);
  CHECK_FALSE(classify({"-Werror", "-c", "-x", "c", "/dev/null", "-o", "tmp.o"}).instrument);
  CHECK_FALSE(classify({"-c", "-x", "assembler-with-cpp", "-", "-o", "x.o"}).instrument);
  CHECK_FALSE(classify({"-Wa,--version", "-c", "-x", "assembler", "/dev/null", "-o", "/dev/null"}).instrument);
  CHECK_FALSE(classify({"-o", "prog", src.path}).instrument);          // compile and link
  CHECK_FALSE(classify({"x.o", "y.o", "-o", "prog"}).instrument);      // link
  CHECK_FALSE(classify({"-print-file-name=include"}).instrument);
  CHECK_FALSE(classify({"-###", "-c", src.path}).instrument);
  CHECK_FALSE(classify({"-c", src.path, "-emit-llvm", "-o", "x.bc"}).instrument);
  CHECK_FALSE(classify({"-fsyntax-only", src.path}).instrument);
  CHECK_FALSE(classify({"-c", src.path, "-o", "-"}).instrument);
  CHECK_FALSE(classify({"-c", "/nonexistent/file.c"}).instrument);
  CHECK_FALSE(classify({"-c", src.path, "--no-such-option-anywhere"}).instrument);
  CHECK_FALSE(classify({"-x", "c++", "-c", src.path}).instrument);
}

TEST_CASE("argv: DSU_REAL_CC is split into words", "[argv]") {
  using dsu::splitCommandWords;
  CHECK(splitCommandWords("clang-19") == std::vector<std::string>{"clang-19"});
  CHECK(splitCommandWords("  ccache   clang-19 ") == std::vector<std::string>{"ccache", "clang-19"});
  CHECK(splitCommandWords("'/opt/my cc/clang' -m64") ==
        std::vector<std::string>{"/opt/my cc/clang", "-m64"});
  CHECK(splitCommandWords("a\\ b \"c d\"") == std::vector<std::string>{"a b", "c d"});
}

TEST_CASE("argv: the real compiler is DSU_REAL_CC's words, else clang-19", "[argv]") {
  const char *saved = std::getenv("DSU_REAL_CC");
  const std::string before = saved ? saved : "";
  const std::vector<std::string> clang19 = {"clang-19"};
  unsetenv("DSU_REAL_CC");
  CHECK(dsu::realCompilerWords() == clang19);
  setenv("DSU_REAL_CC", "", 1);
  CHECK(dsu::realCompilerWords() == clang19);
  setenv("DSU_REAL_CC", "  ", 1); // no words at all
  CHECK(dsu::realCompilerWords() == clang19);
  setenv("DSU_REAL_CC", "ccache gcc-12", 1);
  CHECK(dsu::realCompilerWords() == std::vector<std::string>{"ccache", "gcc-12"});
  if (saved)
    setenv("DSU_REAL_CC", before.c_str(), 1);
  else
    unsetenv("DSU_REAL_CC");
}
