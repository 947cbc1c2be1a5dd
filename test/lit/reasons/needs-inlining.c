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
