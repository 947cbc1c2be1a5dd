// The lines a change touches, and whether they are code this build compiles.
#include "ChangedLines.h"

#include <catch2/catch.hpp>

using namespace dsu;

TEST_CASE("changedLines: inserted, modified and deleted lines, in NEW's numbering",
          "[patchgen][lines]") {
  const std::string old = "a\nb\nc\nd\ne\n";
  CHECK(changedLines(old, old).empty());
  CHECK(changedLines(old, "a\nB\nc\nd\ne\n") == std::set<unsigned>{2});
  CHECK(changedLines(old, "a\nb\nx\ny\nc\nd\ne\n") == std::set<unsigned>{3, 4});
  CHECK(changedLines(old, "a\nb\nd\ne\n") == std::set<unsigned>{3}); // c gone before d
  // Two hunks with unchanged lines between them.
  CHECK(changedLines(old, "A\nb\nc\nd\nE\n") == std::set<unsigned>{1, 5});
}

TEST_CASE("enclosingConditional: the innermost #if block around a line", "[patchgen][lines]") {
  const std::string text = "#ifdef CONFIG_A\n"   // 1
                           "int a;\n"            // 2
                           "#if B > 1\n"         // 3
                           "int b;\n"            // 4
                           "#endif\n"            // 5
                           "int c;\n"            // 6
                           "#else\n"             // 7
                           "int d;\n"            // 8
                           "#endif\n"            // 9
                           "int e;\n";           // 10
  CHECK(enclosingConditional(text, 2) == "`#ifdef CONFIG_A` at line 1");
  CHECK(enclosingConditional(text, 4) == "`#if B > 1` at line 3");
  CHECK(enclosingConditional(text, 6) == "`#ifdef CONFIG_A` at line 1");
  CHECK(enclosingConditional(text, 8) == "`#else` at line 7");
  CHECK(enclosingConditional(text, 10) == "");
}

TEST_CASE("codeLines: comments are not code, directives and compiled-out text are",
          "[patchgen][lines]") {
  const std::string text = "/* a\n"      // 1
                           "   b */\n"   // 2
                           "int x; // c\n" // 3
                           "\n"          // 4
                           "#if 0\n"     // 5
                           "int y;\n"    // 6
                           "#endif\n";   // 7
  CHECK(codeLines(text) == std::set<unsigned>{3, 5, 6, 7});
}
