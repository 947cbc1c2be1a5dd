// Rule: an external function becomes a static version-0 body, an external
// pointer, a stub keeping name/prototype/linkage, and a descriptor; a call in
// the unit goes through the pointer. The output compiles, links and runs.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json -fplugin-arg-dsu-tu=basic.c %s
// RUN: FileCheck %s < %t.c
// RUN: %mfuncs %t.json | FileCheck %s --check-prefix=MANIFEST
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
// RUN: %clang %t.o -o %t.exe && %t.exe
// RUN: llvm-nm %t.o | FileCheck %s --check-prefix=SYMS

// CHECK: # 1 "<dsu-abi>"
// CHECK: struct __dsu_func_desc {
// CHECK: static const char __dsu_tu_name[] __attribute__((__unused__)) = "basic.c";

int add(int a, int b) { return a + b; }
// CHECK: int add(int a, int b); static __typeof__(add) __dsu_v0_add; __typeof__(add) *__dsu_fp_add = __dsu_v0_add; static int __dsu_v0_add(int a, int b) { return a + b; } int add(int a, int b) { return __dsu_fp_add(a, b); } static struct __dsu_func_desc __dsu_desc_add __attribute__((__used__, __aligned__(8), __section__("__dsu_funcs"))) = { DSU_ABI_VERSION, 0, "add", __dsu_tu_name, (void **)&__dsu_fp_add, (void *)__dsu_v0_add, (void *)add, __dsu_unit_hash };

int main(void) { return add(2, 3) == 5 ? 0 : 1; }
// CHECK: static int __dsu_v0_main(void) { return __dsu_fp_add(2, 3) == 5 ? 0 : 1; } int main(void) { return __dsu_fp_main(); }

// MANIFEST: status: instrumented
// MANIFEST: F add: updateable calls_through_pointer=0
// MANIFEST: F main: updateable calls_through_pointer=1
// MANIFEST: summary: 2/2 updateable, 1 calls through pointer

// SYMS-DAG: t __dsu_v0_add
// SYMS-DAG: D __dsu_fp_add
// SYMS-DAG: T add
// SYMS-DAG: d __dsu_desc_add
