#include "BufferedParse.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/Tooling/Tooling.h>

#include <catch2/catch.hpp>

namespace {

// Counts the unit's top-level declarations when it parses without errors.
class CountDecls : public dsu::BufferedParseAction {
public:
  CountDecls(std::string &diagnostics, Options options, int &decls, bool &ended)
      : BufferedParseAction(diagnostics, options), decls_(decls), ended_(ended) {}

private:
  void parseEnded() override { ended_ = true; }
  void useUnit(clang::CompilerInstance &, clang::ASTContext &ctx) override {
    decls_ = 0;
    for (const clang::Decl *d : ctx.getTranslationUnitDecl()->decls())
      if (!d->isImplicit())
        ++decls_;
  }
  int &decls_;
  bool &ended_;
};

struct Parse {
  std::string diagnostics;
  int decls = -1; // -1: the unit was not used
  bool ended = false;
};

Parse parse(const std::string &code, dsu::BufferedParseAction::Options options = {}) {
  Parse p;
  clang::tooling::runToolOnCodeWithArgs(
      std::make_unique<CountDecls>(p.diagnostics, options, p.decls, p.ended), code, {"-Wall"},
      "unit.c");
  return p;
}

} // namespace

TEST_CASE("buffered parse: warnings are kept, with their count, and the unit used",
          "[parse]") {
  Parse p = parse("int f(void) { int unused; return 0; }\nint g;\n");
  CHECK(p.ended);
  CHECK(p.decls == 2);
  CHECK(p.diagnostics.find("unit.c:1:19: warning: unused variable 'unused'") !=
        std::string::npos);
  CHECK(p.diagnostics.find("1 warning generated.") != std::string::npos);
}

TEST_CASE("buffered parse: a unit with errors is not used", "[parse]") {
  Parse p = parse("int f(void) { return x; }\n");
  CHECK(p.ended);
  CHECK(p.decls == -1);
  CHECK(p.diagnostics.find("unit.c:1:22: error: use of undeclared identifier 'x'") !=
        std::string::npos);
}

TEST_CASE("buffered parse: warnings can be left out", "[parse]") {
  dsu::BufferedParseAction::Options quiet;
  quiet.ignoreWarnings = true;
  Parse p = parse("int f(void) { int unused; return 0; }\n", quiet);
  CHECK(p.decls == 1);
  CHECK(p.diagnostics.empty());
}
