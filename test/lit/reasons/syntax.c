// Reasons that come from how the definition is written.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json -std=gnu11 -Wno-deprecated-non-prototype %s
// RUN: %mfuncs %t.json | FileCheck %s
// RUN: %clang -std=gnu11 -Wno-deprecated-non-prototype -Wno-c23-extensions -c %t.c -o %t.o

int knr(a, b) int a; int b; { return a + b; }
// CHECK: F knr: not updateable: knr

int unnamed(int a, int) { return a; }
// CHECK: F unnamed: not updateable: unnamed_parameter

int seven;
#define DEFINE_GETTER(name, var) int name(void) { return var; }
DEFINE_GETTER(get_seven, seven)
// CHECK: F get_seven: not updateable: uneditable

int empty_params() { return seven; }
// CHECK: F empty_params: updateable

struct point { int x, y; };
typedef struct { int r; } ring;
// CHECK: T struct point: updateable
// CHECK: T ring: not updateable: anonymous
