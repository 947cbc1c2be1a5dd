#include "CompilerOutput.h"

#include <catch2/catch.hpp>

using dsu::firstErrorLine;

TEST_CASE("compiler output: the line of the first error", "[compiler-output]") {
  const std::string text = "a.c:1:5: warning: unused\nIn file included from b.h:2:\n"
                           "a.c:3:1: error: expected ';'\na.c:4:1: error: later\n";
  CHECK(firstErrorLine(text) == "a.c:3:1: error: expected ';'");
  CHECK(firstErrorLine("error: no input files") == "error: no input files");
}

TEST_CASE("compiler output: without an error, the first line", "[compiler-output]") {
  CHECK(firstErrorLine("ld: cannot find -lfoo\nmore\n") == "ld: cannot find -lfoo");
  CHECK(firstErrorLine("") == "");
}

TEST_CASE("compiler output: another marker", "[compiler-output]") {
  // dsu-patchgen looks for "error" without the colon (a linker's "errors").
  CHECK(firstErrorLine("ok\n2 errors found\n", "error") == "2 errors found");
  CHECK(firstErrorLine("ok\n2 errors found\n") == "ok");
}
