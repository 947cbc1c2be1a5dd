// Whether a unit a changed header reaches compiles differently, from its two
// preprocessed texts: the shapes of 6.12.118's header changes.
#include "PreprocessedDiff.h"

#include <catch2/catch.hpp>

using namespace dsu;

namespace {
// A unit: some header text, then the .c file's own code.
std::string unit(const std::string &header, const std::string &source) {
  return header + "\n" + source;
}
const std::string kSource = "struct page; int get_order(unsigned long n);\n"
                            "static int helper(struct page *p) { return tlb_flush(p, 1); }\n"
                            "int exported(struct page *p) { return helper(p) + get_order(4096); }\n";
const std::string kHeader = "struct page { unsigned long flags; };\n"
                            "typedef unsigned long pgoff_t;\n"
                            "static inline __attribute__((always_inline)) int tlb_flush(struct page *p, unsigned int n)\n"
                            "{ return (int)(p->flags & n); }\n"
                            "static inline int unused_inline(void) { return 0; }\n"
                            "#pragma GCC diagnostic push\n"
                            "void nmi_panic(void *regs, const char *msg);\n";
} // namespace

TEST_CASE("comparePreprocessed: the same tokens, other spacing", "[patchgen][headers]") {
  std::string spaced = unit(kHeader, kSource);
  for (size_t i = spaced.find(';'); i != std::string::npos; i = spaced.find(';', i + 3))
    spaced.insert(i, "  ");
  CHECK_FALSE(comparePreprocessed(unit(kHeader, kSource), spaced).mayDiffer);
}

TEST_CASE("comparePreprocessed: added and changed declarations nothing emitted uses",
          "[patchgen][headers]") {
  std::string header = kHeader;
  // A new prototype and a new inline (panic.h, bio.h), a changed inline the
  // unit does not use, a new diagnostics pragma, a new tag.
  header += "void vpanic(const char *fmt, __builtin_va_list args) __attribute__((__noreturn__));\n"
            "static inline _Bool bio_in_atomic(void) { return 1; }\n"
            "#pragma GCC diagnostic pop\n"
            "struct list_head { struct list_head *next, *prev; };\n"
            "enum { NEW_FLAG = 4 };\n";
  header.replace(header.find("unused_inline(void) { return 0;"),
                 std::string("unused_inline(void) { return 0;").size(),
                 "unused_inline(void) { return 1;");
  PreprocessedComparison c = comparePreprocessed(unit(kHeader, kSource), unit(header, kSource));
  INFO(c.why);
  CHECK_FALSE(c.mayDiffer);
}

TEST_CASE("comparePreprocessed: a changed inline the unit's code reaches", "[patchgen][headers]") {
  // tlb.h's change: a parameter's type (the body is the same).
  std::string header = kHeader;
  header.replace(header.find("unsigned int n"), 14, "unsigned long n");
  PreprocessedComparison c = comparePreprocessed(unit(kHeader, kSource), unit(header, kSource));
  CHECK(c.mayDiffer);
  CHECK(c.why == "helper uses tlb_flush, which changed");
}

TEST_CASE("comparePreprocessed: changes reach through types, typedefs and enumerators",
          "[patchgen][headers]") {
  SECTION("a struct's layout, used through a typedef") {
    const std::string src = "typedef struct page page_t; int npages(page_t *p) { return p != 0; }\n";
    std::string header = kHeader;
    header.replace(header.find("unsigned long flags;"), 20, "unsigned int flags;");
    PreprocessedComparison c = comparePreprocessed(unit(kHeader, src), unit(header, src));
    CHECK(c.mayDiffer);
    CHECK(c.why == "npages uses page_t, which changed with page");
  }
  SECTION("an enumerator's value") {
    const std::string h0 = "enum zone_type { ZONE_DMA, ZONE_NORMAL };\n";
    const std::string h1 = "enum zone_type { ZONE_DMA, ZONE_DMA32, ZONE_NORMAL };\n";
    const std::string src = "int normal(void) { return ZONE_NORMAL; }\n";
    CHECK(comparePreprocessed(unit(h0, src), unit(h1, src)).mayDiffer);
  }
  SECTION("a prototype a function calls (nmi_panic becomes variadic)") {
    std::string header = kHeader;
    header.replace(header.find("const char *msg);"), 17, "const char *fmt, ...);");
    const std::string src = "void oops(void *r) { nmi_panic(r, \"x\"); }\n";
    CHECK(comparePreprocessed(unit(kHeader, src), unit(header, src)).mayDiffer);
  }
}

TEST_CASE("comparePreprocessed: what emits code or data may not differ at all",
          "[patchgen][headers]") {
  SECTION("a header's variable") {
    const std::string h1 = kHeader + "static const int table[] = { 1, 2 };\n";
    const std::string h2 = kHeader + "static const int table[] = { 1, 3 };\n";
    PreprocessedComparison c = comparePreprocessed(unit(h1, kSource), unit(h2, kSource));
    CHECK(c.mayDiffer);
  }
  SECTION("a non-inline function of a header") {
    const std::string h2 = kHeader + "static void header_fn(void) { }\n";
    CHECK(comparePreprocessed(unit(kHeader, kSource), unit(h2, kSource)).mayDiffer);
  }
  SECTION("a directive other than a diagnostic pragma") {
    const std::string h2 = kHeader + "#pragma pack(1)\n";
    PreprocessedComparison c = comparePreprocessed(unit(kHeader, kSource), unit(h2, kSource));
    CHECK(c.mayDiffer);
    CHECK(c.why == "directive '#pragma pack(1)' differs");
  }
  SECTION("top-level asm") {
    const std::string h2 = kHeader + "asm(\".section .discard\");\n";
    CHECK(comparePreprocessed(unit(kHeader, kSource), unit(h2, kSource)).mayDiffer);
  }
  SECTION("brackets that do not balance") {
    PreprocessedComparison c = comparePreprocessed(unit(kHeader, kSource), unit(kHeader + "}", kSource));
    CHECK(c.mayDiffer);
  }
}

TEST_CASE("comparePreprocessed: numbers from __COUNTER__ that shift are no change",
          "[patchgen][headers]") {
  // The new header uses __COUNTER__ (min()) once more: every later unique
  // name and initcall id of the unit shifts.
  const std::string h0 = "static inline int lo(int a, int b) { int __UNIQUE_ID_x_3 = a; return __UNIQUE_ID_x_3 < b ? a : b; }\n";
  const std::string h1 = h0 + "static inline int hi(int a, int b) { int __UNIQUE_ID_x_4 = a; return __UNIQUE_ID_x_4 > b ? a : b; }\n";
  auto src = [](int n) {
    return "int clamp(int v) { int __UNIQUE_ID_y_" + std::to_string(n) + " = v; return __UNIQUE_ID_y_" +
           std::to_string(n) + "; }\n"
           "static int (*__initcall__kmod_bio__" + std::to_string(n + 500) + "_1935_init_bio4)(void) = 0;\n"
           "asm(\".long __initcall__kmod_bio__" + std::to_string(n + 500) + "_1935_init_bio4\");\n";
  };
  PreprocessedComparison c = comparePreprocessed(unit(h0, src(4)), unit(h1, src(5)));
  INFO(c.why);
  CHECK_FALSE(c.mayDiffer);
  CHECK(maskUniqueIds("__UNIQUE_ID_y_12 __compiletime_assert_7 __initcall__kmod_bio__508_1935_init_bio4 x_12") ==
        "__UNIQUE_ID_y_# __compiletime_assert_# __initcall__kmod_bio__#_1935_init_bio4 x_12");
}
