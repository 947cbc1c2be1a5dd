// Rule: when the first declaration is part of a declaration group, the
// forward declarations go after the whole group's ';'.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c %s
// RUN: FileCheck %s < %t.c
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
int counter, bump(int by), other(void);
// CHECK: int counter, bump(int by), other(void); static __typeof__(bump) __dsu_v0_bump; __typeof__(bump) *__dsu_fp_bump = __dsu_v0_bump;
int other(void) { return bump(1); }
// CHECK: return __dsu_fp_bump(1);
int bump(int by) { counter += by; return counter; }
