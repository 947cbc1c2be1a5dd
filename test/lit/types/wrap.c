// Rule: a struct the policy selects is wrapped: its definition becomes the
// version-0 representation __dsu_rep_T_0 and a wrapper keeping the tag (a
// version field, a tag and a union with slop); every concrete use goes through the
// accessor __dsu_con_T: `.` and `->` (nested, and on an embedded or array
// element), designated and positional initializers, compound literals,
// offsetof and container_of. sizeof, copies and pointers work on the wrapper.
// RUN: rm -rf %t && mkdir -p %t
// RUN: printf 'include type point\ninclude type box\n' > %t/policy.cfg
// RUN: env DSU_CONFIG=%t/policy.cfg DSU_KEEP_TEMPS=1 DSU_STRICT=1 %dsucc -O2 -c %s -o %t/out.o
// RUN: grep -v '^#' %t/out.o.dsu.rw.i | FileCheck %s
// RUN: %mfuncs %t/out.o.dsu.json | FileCheck %s --check-prefix=MANIFEST
// RUN: %clang -O2 -c %S/Inputs/type-slow.c -o %t/slow.o
// RUN: %clang %t/out.o %t/slow.o -o %t/exe && %t/exe
#include <stddef.h>
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct point { int x, y; };
// CHECK: struct __dsu_rep_point_0 { int x, y; }; struct point { unsigned int __dsu_version; unsigned int __dsu_tag; union { struct __dsu_rep_point_0 __dsu_data; char __dsu_slop[(sizeof(struct __dsu_rep_point_0) + 64 + 7) / 8 * 8]; } __dsu_u __attribute__((__aligned__(8))); };
// CHECK-SAME: static struct __dsu_type_desc __dsu_tdesc_point __attribute__((__used__, __aligned__(8), __section__("__dsu_types"))) = { DSU_ABI_VERSION, 0, [[PTAG:0x[0-9a-f]+u]], "struct point", __dsu_tu_name, sizeof(struct point), sizeof(struct __dsu_rep_point_0), __builtin_offsetof(struct point, __dsu_u), sizeof(((struct point *)0)->__dsu_u), __dsu_unit_hash, 0 };
// CHECK-SAME: static inline __attribute__((__always_inline__, __unused__)) struct __dsu_rep_point_0 *__dsu_con_point(struct point *p) { if (__builtin_expect(__atomic_load_n(&p->__dsu_version, __ATOMIC_ACQUIRE) != DSU_TYPE_MAGIC, 0)) __dsu_type_slow(&__dsu_tdesc_point, p, 0); return &p->__dsu_u.__dsu_data; }
// CHECK-SAME: static __attribute__((__noinline__, __cold__, __unused__)) void __dsu_conr_slow_point(struct point *p, unsigned int v) { if ((v & ~DSU_TYPE_VERSION_MASK) == DSU_TYPE_MAGIC && p->__dsu_tag == [[PTAG]]) __dsu_type_slow(&__dsu_tdesc_point, p, 0); }
// CHECK-SAME: *__dsu_conr_point(struct point *p) { unsigned int v = __atomic_load_n(&p->__dsu_version, __ATOMIC_ACQUIRE); if (__builtin_expect(v != DSU_TYPE_MAGIC, 0)) __dsu_conr_slow_point(p, v); return &p->__dsu_u.__dsu_data; }
// CHECK-SAME: static inline __attribute__((__always_inline__, __unused__)) int __dsu_mark_point(struct point *p) { p->__dsu_version = DSU_TYPE_MAGIC; p->__dsu_tag = [[PTAG]]; return 0; }
struct box { struct point corner[2]; int id; };
struct other { int v; };

static struct point origin = { 1, 2 };
// CHECK: static struct point origin = { DSU_TYPE_MAGIC, [[PTAG]], { .__dsu_data = { 1, 2 } } };
static struct box unit = { .corner = { { 0, 0 }, { .x = 1, .y = 1 } }, .id = 7 };
// CHECK: static struct box unit = { DSU_TYPE_MAGIC, [[BTAG:0x[0-9a-f]+u]], { .__dsu_data = { .corner = { { DSU_TYPE_MAGIC, [[PTAG]], { .__dsu_data = { 0, 0 } } }, { DSU_TYPE_MAGIC, [[PTAG]], { .__dsu_data = { .x = 1, .y = 1 } } } }, .id = 7 } } };
static struct point zeroed;
static int *corner_y = &unit.corner[1].y;
// CHECK: static int *corner_y = &unit.__dsu_u.__dsu_data.corner[1].__dsu_u.__dsu_data.y;

int area(struct box *b) {
  return (b->corner[1].x - b->corner[0].x) * (b->corner[1].y - b->corner[0].y);
  // Reads use __dsu_conr_T (memory without the magic is left alone), writes
  // __dsu_con_T (marks fresh memory as the current version).
  // CHECK: return (__dsu_conr_point(&(__dsu_conr_box(b)->corner[1]))->x - __dsu_conr_point(&(__dsu_conr_box(b)->corner[0]))->x)
}

struct box *of_id(int *idp) { return container_of(idp, struct box, id); }
// CHECK: __builtin_offsetof(struct box, __dsu_u.__dsu_data.id)
// An address computation (the kernel's list_for_each_entry does it on a
// container that does not exist) is not a write: memory without the magic
// is left alone.
int *y_of(struct box *b) { return &b->corner[1].y; }
// CHECK: return &__dsu_conr_point(&(__dsu_conr_box(b)->corner[1]))->y;
void set_y(struct box *b, int v) { b->corner[1].y = v; b->id++; }
// CHECK: __dsu_con_point(&(__dsu_con_box(b)->corner[1]))->y = v; __dsu_con_box(b)->id++;

extern int dsu_test_slow_calls;

int main(void) {
  struct point p = (struct point){ .x = 3, .y = 4 };
  // CHECK: struct point p = (struct point){ DSU_TYPE_MAGIC, [[PTAG]], { .__dsu_data = { .x = 3, .y = 4 } } };
  struct point q = p;
  struct other o = { 5 };
  // CHECK: struct other o = { 5 };
  q.x += o.v;
  // CHECK: __dsu_con_point(&(q))->x += o.v;
  if (zeroed.x != 0 || origin.y != 2 || q.x != 8 || p.y != 4)
    return 1;
  if (area(&unit) != 1 || of_id(&unit.id) != &unit)
    return 2;
  if (sizeof(struct point) < sizeof(int) * 3 || offsetof(struct point, y) <= offsetof(struct point, x))
    return 3;
  if (sizeof(origin.x) != sizeof(int) || *corner_y != 1)
    return 5;
  // CHECK: if (sizeof(origin.__dsu_u.__dsu_data.x) != sizeof(int) || *corner_y != 1)
  // A local declared without an initializer is marked at its declaration:
  // its first write does not go through the slow path.
  struct point fresh, *fp = &fresh, fresh2;
  // CHECK: struct point fresh, *fp = &fresh, fresh2; int __dsu_marked_{{[0-9]+}} __attribute__((__unused__)) = __dsu_mark_point(&fresh) + __dsu_mark_point(&fresh2);
  int slow_before = dsu_test_slow_calls;
  fp->x = 6;
  fresh2.y = fresh.x;
  if (dsu_test_slow_calls != slow_before || fresh2.y != 6)
    return 6;
  struct point arr[3] = { { 1, 1 }, { 2, 2 }, { 3, 3 } };
  int sum = 0;
  for (int i = 0; i < 3; i++)
    sum += arr[i].x;
  return sum == 6 ? 0 : 4;
}
// MANIFEST: T struct point: updateable
// MANIFEST: T struct box: updateable
// MANIFEST: T struct other: not updateable: type_not_selected
