// dsu-cc prints the preprocessed unit from its own parse (no second
// preprocessing by the real compiler). Tokens that would join stay apart,
// every token keeps its presumed line (#line included), and a pragma that
// only touches the preprocessor (#pragma once, clang's own push_macro in the
// predefines) does not send the unit to the real compiler's -E.
// RUN: rm -rf %t && mkdir -p %t
// RUN: env DSU_KEEP_TEMPS=1 DSU_TIME=1 %dsucc -O1 -g -c %s -o %t/print.o 2> %t/err.txt
// RUN: FileCheck %s --check-prefix=TIME < %t/err.txt
// TIME-NOT: preprocessed by the real compiler
// TIME: dsu-cc: time: {{.*}} print {{.*}} compile
// RUN: FileCheck %s --check-prefix=TEXT < %t/print.o.dsu.i
// RUN: %dsucc -O1 %t/print.o -o %t/print && %t/print
// RUN: llvm-dwarfdump --name=__dsu_v0_after_gap --name=renamed %t/print.o | FileCheck %s --check-prefix=LINES
#pragma once
#define NEG -
#define SLASH /
#define TWO_LINES(a, b) \
  ((a) +                \
   (b))

// TEXT: # 1 "{{.*}}print.c"
// TEXT: int negate_twice(int x) { return - -x; }
int negate_twice(int x) { return NEG-x; }
// TEXT: int divide(int x, int *p) { return x / *p; }
int divide(int x, int *p) { return x SLASH*p; }
// TEXT: int sum(int a, int b) { return ((a) + (b)); }
int sum(int a, int b) { return TWO_LINES(a,
                                         b); }
// TEXT: # 41 "{{.*}}print.c"
// TEXT-NEXT: int after_gap(int x) {
// LINES: DW_AT_name ("__dsu_v0_after_gap")
// LINES: DW_AT_decl_line (41)



//
//
//
//
//
int after_gap(int x) {
  return x * 3;
}
#line 100 "renamed.c"
int renamed(void) { return 7; }
// LINES: DW_AT_name ("renamed")
// LINES: DW_AT_decl_file ("{{.*}}renamed.c")
// LINES: DW_AT_decl_line (100)

int main(void) {
  int four = 4;
  return !(negate_twice(5) == 5 && divide(8, &four) == 2 && sum(1, 2) == 3 &&
           after_gap(2) == 6 && renamed() == 7);
}
