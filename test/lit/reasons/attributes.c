// Every attribute-based "not updateable" reason, with the rewritten unit
// compiled: such functions stay exactly as written, and calls from them to
// updateable functions are redirected unless they must not make indirect
// calls (noinstr, naked, special sections).
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json %s
// RUN: %mfuncs %t.json | FileCheck %s
// RUN: FileCheck %s --check-prefix=TEXT < %t.c
// RUN: %clang -Wall -Werror -Wno-unused-function -c %t.c -o %t.o

int plain(int x) { return x; }
// CHECK: F plain: updateable

int sum(int n, ...) { return plain(n); }
// CHECK: F sum: not updateable: variadic
// TEXT: int sum(int n, ...) { return __dsu_fp_plain(n); }

__attribute__((__section__(".init.text"))) int setup(void) { return plain(1); }
// CHECK: F setup: not updateable: init (__init: lives in .init.text, freed after boot (.init.text))
// TEXT: int setup(void) { return __dsu_fp_plain(1); }

__attribute__((__section__(".exit.text"))) void teardown(void) { }
// CHECK: F teardown: not updateable: exit

__attribute__((__section__(".noinstr.text"))) int entry(void) { return plain(2); }
// CHECK: F entry: not updateable: noinstr
// TEXT: int entry(void) { return plain(2); }

__attribute__((__section__(".sched.text"))) int sched(void) { return plain(3); }
// CHECK: F sched: not updateable: section (explicit section: its placement is part of its meaning (.sched.text))
// TEXT: int sched(void) { return plain(3); }

__attribute__((naked)) void trampoline(void) { __asm__("ret"); }
// CHECK: F trampoline: not updateable: naked

static inline __attribute__((always_inline)) int fast(int x) { return x * 2; }
int use_fast(int x) { return fast(x); }
// CHECK: F fast: not updateable: always_inline
// CHECK: F use_fast: updateable

__attribute__((weak)) int hook(void) { return 0; }
// CHECK: F hook: not updateable: weak

__attribute__((constructor)) static void init_early(void) { }
// CHECK: F init_early: not updateable: constructor

int labelled(void) __asm__("renamed_symbol");
int labelled(void) { return 4; }
// CHECK: F labelled: not updateable: asm_label

__attribute__((target_clones("default", "avx2"))) int cloned(int x) { return x + 1; }
// CHECK: F cloned: not updateable: multiversion

int target_of_alias(void) { return 5; }
int an_alias(void) __attribute__((alias("target_of_alias")));
// CHECK: F target_of_alias: not updateable: alias_target

extern inline __attribute__((gnu_inline)) int gnu_ext(int x) { return x; }
// CHECK: F gnu_ext: not updateable: extern_inline

static int local(int x) { return x - 1; }
int use_local(int x) { return local(x); }
// CHECK: F local: updateable
// CHECK: F use_local: updateable calls_through_pointer=1
