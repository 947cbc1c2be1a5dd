// Rule: __func__ in a moved body still names the original function.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c %s
// RUN: FileCheck %s < %t.c
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
// RUN: %clang %t.o -o %t.exe && %t.exe | FileCheck %s --check-prefix=OUT
int puts(const char *);
void who(void) { puts(__func__); }
// CHECK: static void __dsu_v0_who(void) { puts(("who")); } void who(void) { __dsu_fp_who(); }
int main(void) { who(); return sizeof(__func__) == 5 ? 0 : 1; }
// CHECK: return sizeof(("main")) == 5
// OUT: who
