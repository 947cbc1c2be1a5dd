// Functions defined in headers are listed (when this unit emits them) but not
// made updateable: every including unit has its own copy.
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json -I %S/../Inputs %s
// RUN: %mfuncs %t.json | FileCheck %s
// RUN: %clang -Wall -Werror -I %S/../Inputs -c %t.c -o %t.o
#include "helpers.h"
int user(int x) { return header_inline(x) + header_static(x); }
// CHECK: F header_inline: not updateable: header (defined in a header: every including unit has its own copy (inline))
// CHECK: F header_static: not updateable: header
// CHECK-NOT: header_unused
// CHECK: F user: updateable
