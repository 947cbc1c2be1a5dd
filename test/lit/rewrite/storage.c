// Rule: the body always gets internal linkage: 'static' is added, a written
// 'extern' is replaced; a function declared static earlier keeps a static
// pointer even when its definition omits 'static'.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c %s
// RUN: FileCheck %s < %t.c
// RUN: %clang -Wall -Werror -Wno-extern-initializer -c %t.c -o %t.o
// RUN: llvm-nm %t.o | FileCheck %s --check-prefix=SYMS
int g;
extern int ext(void) { return g; }
// CHECK: static int __dsu_v0_ext(void) { return g; } extern int ext(void) { return __dsu_fp_ext(); }
static int hidden(void);
int hidden(void) { return g + 2; }
// CHECK: static int hidden(void); static __typeof__(hidden) __dsu_v0_hidden; static __typeof__(hidden) *__dsu_fp_hidden = __dsu_v0_hidden;
// CHECK: static int __dsu_v0_hidden(void) { return g + 2; } int hidden(void) { return __dsu_fp_hidden(); }
int use(void) { return hidden(); }
// SYMS-DAG: D __dsu_fp_ext
// SYMS-DAG: d __dsu_fp_hidden
// SYMS-DAG: T ext
// SYMS-DAG: t hidden
