// Kernel objects (-D__KERNEL__ under dsu-cc) keep descriptors out of named
// sections: an unknown section in vmlinux would be an orphan.
// RUN: %rewrite -fplugin-arg-dsu-kernel -fplugin-arg-dsu-out=%t.c %s
// RUN: FileCheck %s < %t.c
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
// RUN: llvm-readelf -S %t.o | FileCheck %s --check-prefix=SECTIONS
int v;
int f(int x) { return x + v; }
// CHECK: static struct __dsu_func_desc __dsu_desc_f __attribute__((__used__, __aligned__(8))) = {
// SECTIONS-NOT: __dsu_funcs
// In the kernel, functions that never return stay as written.
// RUN: %rewrite -fplugin-arg-dsu-kernel -fplugin-arg-dsu-manifest=%t.json %s
// RUN: %mfuncs %t.json | FileCheck %s --check-prefix=MANIFEST
__attribute__((noreturn)) void halt(void) { for (;;) v++; }
// MANIFEST: F halt: not updateable: noreturn
