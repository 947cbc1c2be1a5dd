// Code the kernel relies on folding away stays as written: functions declared
// inline, config stubs with an empty or constant body, and __noendbr
// (nocf_check) functions, which must never be an indirect call's target.
// Calls to noreturn functions go to the stub, which ends in a trap.
// RUN: %rewrite -fcf-protection=branch -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json %s
// RUN: %mfuncs %t.json | FileCheck %s
// RUN: FileCheck %s --check-prefix=TEXT < %t.c
// RUN: %clang -O2 -fcf-protection=branch -Wall -Werror -Wno-unused-function -c %t.c -o %t.o
extern int state;
void undefined_in_this_config(void);

static inline int feature_enabled(void) { return state && 0; }
// CHECK: F feature_enabled: not updateable: inline
static int huge_pages(void) { return 0; }
// CHECK: F huge_pages: not updateable: constant_body
void hook(int *p) { }
// CHECK: F hook: not updateable: constant_body
__attribute__((nocf_check)) int no_endbr(int x) { return x + state; }
// CHECK: F no_endbr: not updateable: nocf_check

__attribute__((noreturn)) void stop(int code) { state = code; for (;;) undefined_in_this_config(); }
// CHECK: F stop: updateable
// TEXT: __attribute__((noreturn)) void stop(int code) { __dsu_fp_stop(code); __builtin_trap(); }

int fault(int x) {
  if (feature_enabled() || huge_pages())
    undefined_in_this_config();
  if (x < 0) stop(x);
  hook(&x);
  return x + state;
}
// CHECK: F fault: updateable calls_through_pointer=0
// TEXT: if (x < 0) stop(x);

// Only the unit's own direct calls can fold a constant body: a callback
// reached only through its address (tick-sched.c's nohz_full_kick_func, an
// irq_work, corpus fix 27) or a function only other units call is a real
// call in the plain build too, and stays updateable.
struct irq_work { void (*func)(struct irq_work *); };
static void kick_func(struct irq_work *work) { }
struct irq_work kick_work = { .func = kick_func };
// CHECK: F kick_func: updateable
int arch_default_level(void) { return 3; }
// CHECK: F arch_default_level: updateable
