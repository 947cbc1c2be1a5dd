// The small pure parts of compiler/lib: reasons, source-file checks, hashes
// and C literals.
#include "CLiterals.h"
#include "Hashing.h"
#include "Reasons.h"
#include "SourceUtils.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using dsu::Reason;

TEST_CASE("reasons: every one has a distinct id and a text", "[reasons]") {
  std::set<std::string> ids;
  unsigned n = 0;
#define REASON(Name, Id, Text)                                                                     \
  ++n;                                                                                             \
  CHECK(dsu::reasonId(Reason::Name) == Id);                                                        \
  CHECK(dsu::reasonText(Reason::Name) == Text);                                                    \
  CHECK(ids.insert(Id).second);
#include "Reasons.def"
  CHECK(n == ids.size());
  CHECK(dsu::reasonId(Reason::None).empty());
  CHECK(dsu::reasonId(Reason::Variadic) == "variadic");
  CHECK(dsu::reasonId(Reason::TypeRewriteFailed) == "type_rewrite_failed");
}

TEST_CASE("reasons: calls stay direct only in code that must not call indirectly", "[reasons]") {
  CHECK(dsu::reasonKeepsCalls(Reason::Noinstr));
  CHECK(dsu::reasonKeepsCalls(Reason::HeaderFunction));
  CHECK(dsu::reasonKeepsCalls(Reason::NeedsInlining));
  CHECK_FALSE(dsu::reasonKeepsCalls(Reason::None));
  CHECK_FALSE(dsu::reasonKeepsCalls(Reason::Variadic));
  CHECK_FALSE(dsu::reasonKeepsCalls(Reason::TypeUnion));
}

TEST_CASE("source files: .c and .i are the unit's own, the rest headers", "[source]") {
  CHECK(dsu::isCSourceFile("kernel/sched/build_policy.c"));
  CHECK(dsu::isCSourceFile("x.i"));
  CHECK_FALSE(dsu::isCSourceFile("include/linux/list.h"));
  CHECK_FALSE(dsu::isCSourceFile("<built-in>"));
}

TEST_CASE("hashes: sha256 prefixes and the runtime's FNV-1a type tag", "[hashing]") {
  CHECK(dsu::sha256Hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(dsu::sha256Hex("abc", 4) == "ba7816bf");
  // FNV-1a of "" 0x00 "": the offset basis mixed with one zero byte.
  CHECK(dsu::typeTag("", "") == 0x050c5d1fu);
}

TEST_CASE("C literals: quotes, backslashes and control characters escaped", "[literals]") {
  CHECK(dsu::escapeCString("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(dsu::escapeCString("x\ny") == "x\\012y");
  CHECK(dsu::escapeCString("\x7f") == "\\177");
}
