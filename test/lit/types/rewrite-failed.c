// Reason type_rewrite_failed: a static assertion on a struct's size holds for
// the plain struct but not for its wrapper, so the unit does not compile
// with its types wrapped; dsu-cc compiles it again without wrapping (the
// functions stay indirected) and says why in the manifest.
// RUN: rm -rf %t && mkdir -p %t
// RUN: env DSU_STRICT=1 %dsucc -O2 -c %s -o %t/out.o
// RUN: %mfuncs %t/out.o.dsu.json | FileCheck %s
// RUN: %python -c "import json,sys; [print('T', t['name'], t['reason'], '|', t['reason_text']) for t in json.load(open(sys.argv[1]))['types']]" %t/out.o.dsu.json | FileCheck %s --check-prefix=WHY
// RUN: %clang %t/out.o -o %t/exe && %t/exe
struct sized { int a; };
_Static_assert(sizeof(struct sized) == 4, "struct sized is part of a wire format");
int get(struct sized *s) { return s->a; }
int main(void) { struct sized s = { 0 }; return get(&s); }
// CHECK: F get: updateable
// CHECK: T struct sized: not updateable: type_rewrite_failed
// WHY: T struct sized type_rewrite_failed | the unit does not compile with its types wrapped ({{.*}}static assertion failed{{.*}})
