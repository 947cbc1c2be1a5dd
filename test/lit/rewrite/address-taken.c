// Rule: taking a function's address yields the stub, so ops tables and
// comparisons keep the original address; only calls are redirected.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c %s
// RUN: FileCheck %s < %t.c
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
// RUN: %clang %t.o -o %t.exe && %t.exe
struct ops { int (*op)(int); };
static int inc(int x) { return x + 1; }
static const struct ops table = { .op = inc };
// CHECK: static const struct ops table = { .op = inc };
int main(void) {
  int (*p)(int) = &inc;
  // CHECK: int (*p)(int) = &inc;
  return (table.op(1) == 2 && p == inc && (&inc)(0) == 1 && inc(4) == 5) ? 0 : 1;
  // CHECK: (&inc)(0) == 1 && __dsu_fp_inc(4) == 5
}
