// Rule: recursive calls go through the pointer too, so a new version takes
// over at the next level of recursion.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c %s
// RUN: FileCheck %s < %t.c
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
// RUN: %clang %t.o -o %t.exe && %t.exe
unsigned fact(unsigned n) { return n < 2 ? 1 : n * fact(n - 1); }
// CHECK: static unsigned __dsu_v0_fact(unsigned n) { return n < 2 ? 1 : n * __dsu_fp_fact(n - 1); }
int main(void) { return fact(5) == 120 ? 0 : 1; }
