// Rule: a stub of a noreturn function does not return either.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c %s
// RUN: FileCheck %s < %t.c
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
void abort(void) __attribute__((noreturn));
__attribute__((noreturn)) void fail(int code) { (void)code; abort(); }
// CHECK: __attribute__((noreturn)) void fail(int code) { __dsu_fp_fail(code); __builtin_unreachable(); }
