// Rule: macros do not limit the rewrite. dsu-cc rewrites the preprocessed
// unit, so a call written inside a macro body goes through the pointer; the
// plugin on unpreprocessed input rewrites calls spelled in macro arguments
// and leaves calls inside macro bodies to the stub.
// RUN: rm -rf %t && mkdir -p %t && cd %t
// RUN: env DSU_KEEP_TEMPS=1 %dsucc -Wall -Werror -c %s -o m.o
// RUN: grep -v '^#' m.o.dsu.rw.i | FileCheck %s --check-prefix=DSUCC
// RUN: %mfuncs m.o.dsu.json | FileCheck %s --check-prefix=MANIFEST
// RUN: %rewrite -fplugin-arg-dsu-out=%t/p.c %s
// RUN: FileCheck %s --check-prefix=PLUGIN < %t/p.c
// RUN: %clang -Wall -Werror -c %t/p.c -o p.o
#define TWICE(x) (step(x) + step(x))
#define APPLY(f, x) f(x)
static int step(int v) { return v + 1; }
int run(int v) { return TWICE(v) + APPLY(step, v); }
// DSUCC: static int __dsu_v0_run(int v) { return (__dsu_fp_step(v) + __dsu_fp_step(v)) + __dsu_fp_step(v); }
// PLUGIN: static int __dsu_v0_run(int v) { return TWICE(v) + APPLY(__dsu_fp_step, v); }
// MANIFEST: F step: updateable
// MANIFEST: F run: updateable calls_through_pointer=3
