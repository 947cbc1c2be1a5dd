// Rule: a call to a function defined in another unit is left alone: it reaches
// that unit's stub, which jumps through that unit's pointer.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json %s
// RUN: FileCheck %s < %t.c
// RUN: %mfuncs %t.json | FileCheck %s --check-prefix=MANIFEST
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
int elsewhere(int);
int here(int x) { return elsewhere(x); }
// CHECK: static int __dsu_v0_here(int x) { return elsewhere(x); }
// MANIFEST: F here: updateable calls_through_pointer=0
