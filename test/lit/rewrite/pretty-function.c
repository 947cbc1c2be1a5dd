// Rule: __PRETTY_FUNCTION__ in a moved body is clang's text for the original
// function ("const char *pretty(int)"), __func__ and __FUNCTION__ its name:
// the program built by dsu-cc prints exactly what clang-19's build prints,
// assert() messages included.
// RUN: rm -rf %t && mkdir -p %t/dsu %t/ref
// RUN: %rewrite -fplugin-arg-dsu-out=%t/rw.c %s
// RUN: FileCheck %s < %t/rw.c
// (A CHECK line is copied into the output too: {{"}} keeps it from
// matching itself.)
// RUN: %dsucc -c %s -o %t/dsu/prog.o
// RUN: llvm-nm %t/dsu/prog.o | FileCheck %s --check-prefix=SYMS
// RUN: %dsucc %t/dsu/prog.o -o %t/dsu/prog
// RUN: %clang %s -o %t/ref/prog
// RUN: cd %t/dsu && not --crash ./prog > out.txt 2> err.txt
// RUN: cd %t/ref && not --crash ./prog > out.txt 2> err.txt
// RUN: FileCheck %s --check-prefix=OUT < %t/ref/out.txt
// RUN: diff %t/ref/out.txt %t/dsu/out.txt
// RUN: FileCheck %s --check-prefix=ASSERT < %t/ref/err.txt
// RUN: diff %t/ref/err.txt %t/dsu/err.txt
#include <assert.h>
#include <stdio.h>

struct point { int x, y; };
typedef struct point point_t;

static const char *pretty(int a) { return a ? __PRETTY_FUNCTION__ : ""; }
// CHECK: static const char *__dsu_v0_pretty(int a) { return a ? ({{"}}const char *pretty(int)") : ""; }

const char *params(struct point *p, const char *s, point_t q, int (*cb)(void *), int v[]) {
  return p || s || q.x || cb || v ? __PRETTY_FUNCTION__ : "";
}
// CHECK: ({{"}}const char *params(struct point *, const char *, point_t, int (*)(void *), int *)")

unsigned long long *noparams(void) {
  static unsigned long long n;
  puts(__PRETTY_FUNCTION__);
  return &n;
}
// CHECK: puts(({{"}}unsigned long long *noparams(void)"));

void names(void) { printf("%s|%s|%s\n", __func__, __FUNCTION__, __PRETTY_FUNCTION__); }
// CHECK: printf("%s|%s|%s\n", ({{"}}names"), ("names"), ("void names(void)"));

int check(int v) {
  assert(v > 0 && "v is positive");
  return v;
}

int main(int argc, char **argv) {
  puts(pretty(argc));
  puts(params(0, argv[0], (point_t){1, 2}, 0, 0));
  *noparams() += 1;
  names();
  fflush(stdout);
  return check(argc - 1);
}

// SYMS: __dsu_fp_check
// SYMS: __dsu_fp_names
// SYMS: __dsu_fp_noparams
// SYMS: __dsu_fp_params
// SYMS: __dsu_fp_pretty

// OUT: const char *pretty(int)
// OUT-NEXT: const char *params(struct point *, const char *, point_t, int (*)(void *), int *)
// OUT-NEXT: unsigned long long *noparams(void)
// OUT-NEXT: names|names|void names(void)
// ASSERT: prog: {{.*}}pretty-function.c:{{[0-9]+}}: int check(int): Assertion `v > 0 && "v is positive"' failed.
