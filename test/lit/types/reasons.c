// Every reason a struct (wrapped by default) is not wrapped (it keeps its layout, and
// the unit still compiles and runs).
// RUN: rm -rf %t && mkdir -p %t
// RUN: printf 'include type *\n' > %t/policy.cfg
// RUN: env DSU_CONFIG=%t/policy.cfg DSU_STRICT=1 %dsucc -O2 -c %s -o %t/out.o
// RUN: %python -c "import json,sys; [print('T', t['name'], t.get('reason','wrapped'), '|', t.get('reason_text','')) for t in json.load(open(sys.argv[1]))['types']]" %t/out.o.dsu.json | FileCheck %s
// RUN: %clang -O2 -c %S/Inputs/type-slow.c -o %t/slow.o
// RUN: %clang %t/out.o %t/slow.o -o %t/exe && %t/exe

union num { int i; float f; };
// CHECK-DAG: T union num union
typedef struct { int a; } anon_t;
// CHECK-DAG: T anon_t anonymous
struct decl { int a; } decl_instance;
// CHECK-DAG: T struct decl defined_in_declaration
struct __attribute__((packed)) wire { char c; int v; };
// CHECK-DAG: T struct wire layout_attribute
struct msg { int len; char data[]; };
// CHECK-DAG: T struct msg flexible_array
// Objects that extend past the end through their last member (fib_trie's
// tnode: wrapped, the corpus kernel oopsed in tnode_free at boot).
struct kvec { int bits; struct kvec *slot[]; };
struct tnode_like { long rcu; struct kvec kv[1]; };
// CHECK-DAG: T struct tnode_like flexible_array
struct old_style { int n; int items[0]; };
// CHECK-DAG: T struct old_style flexible_array
struct holds_msg { int tag; struct msg m; };
// CHECK-DAG: T struct holds_msg flexible_array
struct pair { int a, b; };
struct holder { struct pair p; int c; };
static struct holder elided = { 1, 2, 3 };
// CHECK-DAG: T struct pair brace_elision | an instance is initialized with elided braces (an initializer leaves out its braces)
// CHECK-DAG: T struct holder wrapped
struct cfg { int level; };
static const struct cfg defaults = { 3 };
// CHECK-DAG: T struct cfg const_instance | {{.*}} (defaults)
struct ret { int v; };
static struct ret make(void) { struct ret r = { 4 }; return r; }
// CHECK-DAG: T struct ret uneditable_use | a use is not in editable text (a member of a value that is not an lvalue (a function's result))
struct raw { int v; };
__attribute__((section(".noinstr.text"))) int peek(struct raw *r) { return r->v; }
// CHECK-DAG: T struct raw uninstrumentable_use | {{.*}} (peek)
struct fine { int v; };
// CHECK-DAG: T struct fine wrapped
#define __user
struct uapi { int v; };
int fetch(struct uapi __user *u) { return u->v; }
// CHECK-DAG: T struct uapi user_visible | {{.*}} ({{.*}}reasons.c:[[@LINE-1]])
#define __iomem
struct regs { unsigned int index, data; };
unsigned int rd(struct regs __iomem *r) { return r->data; }
// CHECK-DAG: T struct regs hardware_layout | {{.*}} ({{.*}}reasons.c:[[@LINE-1]])
struct record { unsigned short len, kind; };
static unsigned char blob[16] = { 4, 0, 1, 0 };
int kind_of(void) { return ((struct record *)blob)->kind; }
// CHECK-DAG: T struct record overlay | {{.*}} ({{.*}}reasons.c:[[@LINE-1]])
#define container_of(p, T, m) ((T *)((char *)(p) - __builtin_offsetof(T, m)))
struct node { int key; struct node *next; };
struct node *owner(struct node **link) { return container_of(link, struct node, next); }
// CHECK-DAG: T struct node wrapped
struct inner { int v; };
struct outer { struct inner in; int extra; };
void set_drvdata(void *p);
void attach(struct outer *o) { set_drvdata(o); }
// CHECK-DAG: T struct outer first_member_alias | {{.*}} ({{.*}}reasons.c:[[@LINE-1]])
// CHECK-DAG: T struct inner wrapped
struct freed { struct inner in; };
void release(struct freed *f) { __builtin_memset(f, 0, sizeof *f); }
// CHECK-DAG: T struct freed wrapped
struct tabled { int v; };
__attribute__((section("__my_table"), used)) static struct tabled table_entry = { 1 };
// CHECK-DAG: T struct tabled section_instance | {{.*}} (table_entry in __my_table)
struct kstat_out { int a, b; };
unsigned long copy_to_user(void *to, const void *from, unsigned long n);
unsigned long report(void *ubuf) { struct kstat_out k = { 1, 2 }; return copy_to_user(ubuf, &k, sizeof k); }
// CHECK-DAG: T struct kstat_out user_visible | {{.*}} (copied by copy_to_user() at {{.*}}reasons.c:[[@LINE-1]])
struct pcpu { int v; };
__attribute__((section(".data..percpu"))) struct pcpu per_cpu_counter;
// CHECK-DAG: T struct pcpu percpu_instance | {{.*}} (per_cpu_counter)
struct tagged { int v; } __attribute__((__unused__));
// CHECK-DAG: T struct tagged wrapped
// Its first self-reference inside a prototype still names the struct.
struct work { void (*func)(struct work *); int n; };
static void bump(struct work *w) { w->n++; }
static int run_work(void) { struct work w = { bump, 0 }; w.func(&w); return w.n - 1; }
// CHECK-DAG: T struct work wrapped

void set_drvdata(void *p) { (void)p; }
unsigned long copy_to_user(void *to, const void *from, unsigned long n) { (void)to; (void)from; return n - n; }
int main(void) {
  union num n = { 1 };
  anon_t an = { 2 };
  struct wire w = { 'a', 3 };
  struct msg m = { 0 };
  struct raw rw = { 5 };
  struct fine f = { 6 };
  struct uapi u = { 0 };
  struct tagged tg = { 0 };
  struct regs rg = { 0, 0 };
  struct freed fr;
  release(&fr);
  decl_instance.a = 1;
  int s = n.i + an.a + w.v + m.len + elided.p.b + defaults.level + make().v + peek(&rw) + f.v + fetch(&u) + tg.v + rd(&rg) + kind_of() - 1 + run_work() + (owner(&(struct node){ 1, 0 }.next) ? 0 : 1);
  return s == 1 + 2 + 3 + 0 + 2 + 3 + 4 + 5 + 6 ? 0 : 1;
}
