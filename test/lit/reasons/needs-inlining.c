// BUILD_BUG-style assertions (calls to functions declared with the error
// attribute) compile only when the optimizer removes them: such functions,
// and the functions whose results decide whether they are reached, stay as
// written so they can be inlined or dropped.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json %s
// RUN: %mfuncs %t.json | FileCheck %s
// RUN: %clang -O2 -Wall -Werror -Wno-unused-function -c %t.c -o %t.o
#define BUILD_BUG() do { extern void __assert_fail_build(void) __attribute__((error("BUILD_BUG failed"))); __assert_fail_build(); } while (0)
#define BUILD_BUG_ON(c) do { extern void __assert_fail_on(void) __attribute__((error("BUILD_BUG_ON failed"))); if (c) __assert_fail_on(); } while (0)

extern int huge_flag;
static int huge_enabled(int x) { return x & 0; }
static int stub_when_disabled(int x) { BUILD_BUG(); return x; }
int getattr(int x) {
  BUILD_BUG_ON(sizeof(int) != 4);   // constant: folds in any body
  if (huge_enabled(x))
    return stub_when_disabled(x);
  return x;
}
// CHECK: F huge_enabled: not updateable: needs_inlining ({{.*}}(decides whether getattr() reaches a compile-time assertion))
// CHECK: F stub_when_disabled: not updateable: needs_inlining ({{.*}}(reaches a compile-time assertion))
// CHECK: F getattr: updateable

// A static function with one call site is inlined there; when it references a
// symbol this unit only declares under a condition on a parameter, the
// kernel relies on the caller's argument folding that reference away.
void only_in_other_configs(int *);
static int restore(int *p, int compat) {
  if (!compat)
    return *p;
  only_in_other_configs(p);
  return 0;
}
int restore_sig(int *p) { int compat = 0 && *p; return restore(p, compat); }
// CHECK: F restore: not updateable: needs_inlining ({{.*}}(inlined at its only call site, where the caller's arguments fold away its reference to only_in_other_configs))
// CHECK: F restore_sig: updateable

// A constant switch runs only its matching case (cmpxchg's size dispatch):
// the error call under `default` is dead, the function stays updateable.
extern void wrong_size(void) __attribute__((error("bad size")));
long swap_word(long *p, long v) {
  long old = *p;
  switch (sizeof(*p)) {
  case 4: *(int *)p = (int)v; break;
  case 8: *p = v; break;
  default: wrong_size();
  }
  return old;
}
// CHECK: F swap_word: updateable

// An external function is emitted on its own in the plain build as well:
// assertions that fold there fold in its moved body too.
int checked_width(int w) {
  if (w % 2 == 3)
    wrong_size();
  return w;
}
// CHECK: F checked_width: updateable

// Conditions on locals fold inside the body itself; conditions on parameters
// fold only with the caller's arguments.
static int local_check(int *p) {
  int x = *p;
  if ((x * 2) % 2 == 1)
    wrong_size();
  return x;
}
static int pick(int kind) {
  if (kind != 4)
    wrong_size();
  return kind;
}
int user2(int *p) { return local_check(p) + pick(4) * pick(4); }
// CHECK: F local_check: updateable
// CHECK: F pick: not updateable: needs_inlining ({{.*}}(reaches a compile-time assertion unless its arguments fold))

// Passing a parameter to a call in a condition is not something a caller's
// argument folds: such single-call-site functions stay updateable.
int getc_like(void *stream);
int is_letter(int c);
static int skip_blanks(void *in) {
  int c;
  while ((c = getc_like(in)) != -1 && !is_letter(c))
    ;
  return c;
}
int read_word(void *in) { return skip_blanks(in); }
// CHECK: F skip_blanks: updateable

// A function whose address escapes (an ops table's ioctl) is emitted out of
// line in the plain build too, with arguments nothing folds: a guard on its
// parameters cannot be what keeps its callees' assertions away
// (fs/proc/task_mmu.c's do_pagemap_cmd, corpus fix 03). Its direct callees
// still fold into it.
static long scan_constant(long arg) {
  do { if (!__builtin_constant_p(arg)) break; BUILD_BUG(); } while (0);
  return arg;
}
static long do_cmd(int cmd, long arg) {
  switch (cmd) {
  case 1: return scan_constant(arg);
  }
  return -22;
}
struct file_ops { long (*ioctl)(int, long); };
const struct file_ops cmd_ops = { .ioctl = do_cmd };
// CHECK: F scan_constant: not updateable: needs_inlining ({{.*}}(inlined at its only call site, {{.*}}))
// CHECK: F do_cmd: updateable

// An unevaluated operand (sizeof, typeof of a statement expression) and the
// branch __builtin_choose_expr does not choose are never code.
static long sized(long arg) { return arg + sizeof(({ BUILD_BUG(); 0; })); }
static long chosen(long arg) { return __builtin_choose_expr(0, ({ BUILD_BUG(); 0L; }), arg); }
long unevaluated(long a) { return sized(a) + chosen(a) + sized(a + 1) + chosen(a + 1); }
// CHECK: F sized: updateable
// CHECK: F chosen: updateable
