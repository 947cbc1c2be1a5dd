// Rule: static variables get registry descriptors so a patch reaches the
// running instance instead of a copy: file-scope statics of the unit's own
// source at the end of the unit, static locals of updateable functions right
// after their declaration ("f.v", "f.v#2" for a second one of that name).
// Thread-locals, init/per-CPU sections and statics whose initializer refers
// to something only declared get none (they are listed with the reason).
// RUN: %rewrite -fplugin-arg-dsu-out=%t.c -fplugin-arg-dsu-manifest=%t.json -fplugin-arg-dsu-tu=vars.c %s
// RUN: sed "s,//.*,," %t.c | FileCheck %s
// RUN: %python -c "import json,sys; [print('V', v['name'], v['registered'], v.get('reason_text','')) for v in json.load(open(sys.argv[1]))['variables']]" %t.json | FileCheck %s --check-prefix=MANIFEST
// RUN: %clang -Wall -Werror -c %t.c -o %t.o
// RUN: %clang %t.o -o %t.exe && %t.exe
// RUN: llvm-readelf -S %t.o | FileCheck %s --check-prefix=SECTIONS

// CHECK: static const char __dsu_unit_hash[] __attribute__((__unused__)) = "{{[0-9a-f]+}}";
static int counter;
static const char *const names[] = {"a", "b"};
static __thread int per_thread;
static int in_init __attribute__((section(".init.data"))) = 1;
static int after_init __attribute__((section(".data..ro_after_init"))) = 0;
extern int undefined_elsewhere __attribute__((weak));
static int *points_out = &undefined_elsewhere;
static int unused_static __attribute__((unused));

int bump(int by) {
  static int calls;
  // CHECK: static int calls; static struct __dsu_var_desc __dsu_vdesc_calls_1 __attribute__((__used__, __aligned__(8), __section__("__dsu_vars"))) = { DSU_ABI_VERSION, 1u, "bump.calls", __dsu_tu_name, (void *)&calls, sizeof(calls), __dsu_unit_hash };
  calls++;
  {
    static int calls;
    // CHECK: static int calls; static struct __dsu_var_desc __dsu_vdesc_calls_2 {{.*}} "bump.calls#2",
    calls += 2;
  }
  counter += by + per_thread + in_init - 1 + (points_out == 0) + after_init;
  return counter + (names[0][0] == 'a') - 1;
}
int main(void) { return bump(1) == 2 ? 0 : 1; }
// CHECK: static struct __dsu_var_desc __dsu_vdesc_counter {{.*}} = { DSU_ABI_VERSION, 0u, "counter", __dsu_tu_name, (void *)&counter, sizeof(counter), __dsu_unit_hash };
// CHECK-SAME: static struct __dsu_var_desc __dsu_vdesc_names {{.*}} = { DSU_ABI_VERSION, 2u, "names",
// CHECK-NOT: __dsu_vdesc_per_thread
// CHECK-NOT: __dsu_vdesc_in_init
// CHECK-NOT: __dsu_vdesc_points_out
// CHECK-NOT: __dsu_vdesc_unused_static

// MANIFEST-DAG: V bump.calls True
// MANIFEST-DAG: V bump.calls#2 True
// MANIFEST-DAG: V counter True
// MANIFEST-DAG: V names True
// MANIFEST-DAG: V per_thread False thread-local
// MANIFEST-DAG: V in_init False in section .init.data
// MANIFEST-DAG: V after_init True
// MANIFEST-DAG: V points_out False its initializer refers to undefined_elsewhere, which this unit only declares
// SECTIONS: __dsu_vars
