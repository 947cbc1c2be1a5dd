// Rule: with an earlier prototype, the body and pointer are declared right
// after it, so calls between prototype and definition already go through the
// pointer; static functions get a static pointer.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json %s
// RUN: FileCheck %s < %t.c
// RUN: %clang -Wall -Werror -c %t.c -o %t.o

static int twice(int x);
// CHECK: static int twice(int x); static __typeof__(twice) __dsu_v0_twice; static __typeof__(twice) *__dsu_fp_twice = __dsu_v0_twice;

int user(int y) { return twice(y) + 1; }
// CHECK: static int __dsu_v0_user(int y) { return __dsu_fp_twice(y) + 1; }

static int twice(int x) { return 2 * x; }
// CHECK: static int __dsu_v0_twice(int x) { return 2 * x; } static int twice(int x) { return __dsu_fp_twice(x); }
