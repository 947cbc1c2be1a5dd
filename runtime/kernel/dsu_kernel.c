// SPDX-License-Identifier: GPL-2.0
/*
 * The DSU kernel runtime: the kernel back end of runtime/core/dsu_core.c.
 *
 * - The registry: every struct __dsu_func_desc / __dsu_var_desc dsu-cc put
 *   into vmlinux, found through kallsyms by name (they live in plain .data,
 *   see dsu/abi.h), hashed by (translation unit, name).
 * - Apply and revert in the Ksplice model: stop_machine(), then walk every
 *   task's stack; if a return address lies inside code being replaced (or
 *   being removed, on revert), let the machine go, back off and retry;
 *   otherwise switch the pointers while everything is still stopped. A
 *   patch dsu-patchgen analysed (docs/safety.md) is judged by its frame
 *   rules instead: replaced code may stay active, but no frame may be
 *   about to use a changed type's old layout, and no system call may have
 *   run changed code already and be about to run changed code again.
 * - /proc/dsu: the applied patches and the registry; "revert" undoes the
 *   newest patch.
 *
 * The runtime must not be instrumented itself (dsu-cc leaves kernel/dsu/
 * out): its own functions would otherwise be replaceable, and the stop
 * callback would run through pointers it is busy rewriting.
 */
#define pr_fmt(fmt) "dsu: " fmt

#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/hashtable.h>
#include <linux/bsearch.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/stacktrace.h>
#include <linux/stop_machine.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/sections.h>

#include "dsu_core.h"
#include "dsu_kernel.h"

#if !IS_ENABLED(CONFIG_KALLSYMS) || !IS_ENABLED(CONFIG_STACKTRACE)
#error "the DSU runtime needs CONFIG_KALLSYMS (the registry) and CONFIG_STACKTRACE (the stack check)"
#endif

/*
 * How long an apply or revert keeps retrying while a function it would
 * change stays active, in milliseconds. Built in, so on the command line
 * it is dsu.timeout_ms= and at run time /sys/module/dsu/parameters/timeout_ms.
 */
static unsigned int dsu_timeout_ms = 5000;
module_param_named(timeout_ms, dsu_timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms, "give up an apply or revert after this many ms of active functions");

/*
 * Version consistency of system calls (docs/safety.md): refuse while a task
 * is inside a system call that already ran code of the change set and may
 * run more. Off by default: with today's effects (indirect calls resolved by
 * type and struct field) a shell blocked in wait4() "may" run nearly any
 * library function before and after its sleep, so no patch of common code
 * would ever apply. The type rules (old code about to use a changed layout)
 * are always enforced. dsu.consistency= / /sys/module/dsu/parameters/consistency.
 */
static bool dsu_consistency;
module_param_named(consistency, dsu_consistency, bool, 0644);
MODULE_PARM_DESC(consistency, "refuse while a system call has run and may still run changed code");

/* First and longest pause between two attempts (doubling in between). */
#define DSU_BACKOFF_MIN_MS 10U
#define DSU_BACKOFF_MAX_MS 640U

/* Return addresses kept per task; a deeper stack counts as unreliable. */
#define DSU_TRACE_MAX 128

/* ---------------------------------------------------------------------- */
/* The registry */

/*
 * Open addressing, linear probing, load factor at most 1/2. Built once at
 * boot and only read afterwards (under dsu_mutex), so there is no deletion
 * and no locking of its own.
 */
struct dsu_slot {
	const char *tu;		/* NULL: a free slot */
	const char *name;	/* "" in the unit table */
	void *val;		/* the descriptor, or the unit's hash string */
	unsigned int hash;
	bool dup;		/* registered twice, differently: never answered */
};

struct dsu_table {
	struct dsu_slot *slots;
	unsigned int mask;
	unsigned int count;	/* distinct keys */
	unsigned int dups;	/* keys seen again with another value */
};

static struct {
	struct dsu_table funcs, vars, types, units;
	unsigned int skipped;	/* other ABI, not in kernel data, or malformed */
	u64 build_ns;
	bool ready;
} dsu_reg;

/* What unit_hash() answers for a unit whose descriptors disagree. */
static const char dsu_unit_conflict[] = "(several builds in this kernel)";

static int dsu_table_alloc(struct dsu_table *t, unsigned int n)
{
	unsigned long size = roundup_pow_of_two(max(2UL * n, 16UL));

	t->slots = kvcalloc(size, sizeof(*t->slots), GFP_KERNEL);
	if (!t->slots)
		return -ENOMEM;
	t->mask = size - 1;
	return 0;
}

/* The slot holding (tu, name), or the free slot where it would go. */
static struct dsu_slot *dsu_table_probe(const struct dsu_table *t, unsigned int hash,
					const char *tu, const char *name)
{
	unsigned int i;

	for (i = hash & t->mask;; i = (i + 1) & t->mask) {
		struct dsu_slot *s = &t->slots[i];

		if (!s->tu)
			return s;
		if (s->hash == hash && !strcmp(s->tu, tu) && !strcmp(s->name, name))
			return s;
	}
}

/* Values compare by address, unless `str` (unit hashes: one string per unit). */
static void dsu_table_add(struct dsu_table *t, const char *tu, const char *name, void *val,
			  bool str)
{
	unsigned int hash = dsu_core_hash(tu, name);
	struct dsu_slot *s = dsu_table_probe(t, hash, tu, name);

	if (!s->tu) {
		s->tu = tu;
		s->name = name;
		s->val = val;
		s->hash = hash;
		t->count++;
		return;
	}
	if (s->val == val || (str && !strcmp(s->val, val)) || s->dup)
		return;
	s->dup = true;
	t->dups++;
	pr_warn("%s:%s is registered twice; patches cannot refer to it\n", tu,
		*name ? name : "(unit hash)");
}

static void *dsu_table_find(const struct dsu_table *t, const char *tu, const char *name)
{
	struct dsu_slot *s;

	if (!t->slots || !tu || !name)
		return NULL;
	s = dsu_table_probe(t, dsu_core_hash(tu, name), tu, name);
	if (!s->tu)
		return NULL;
	return s->dup ? NULL : s->val;
}

/* Descriptor addresses found by name, before they are checked and hashed. */
struct dsu_addrs {
	unsigned long *v;
	unsigned int n, cap;
};

struct dsu_collect {
	struct dsu_addrs funcs, vars, types;
};

static int dsu_addrs_push(struct dsu_addrs *a, unsigned long addr)
{
	if (a->n == a->cap) {
		unsigned int cap = a->cap ? 2 * a->cap : 4096;
		unsigned long *v = kvmalloc_array(cap, sizeof(*v), GFP_KERNEL);

		if (!v)
			return -ENOMEM;
		if (a->n)
			memcpy(v, a->v, a->n * sizeof(*v));
		kvfree(a->v);
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = addr;
	return 0;
}

static int dsu_collect_sym(void *data, const char *name, unsigned long addr)
{
	struct dsu_collect *c = data;

	/*
	 * Substring, not prefix: a static local's descriptor is named after
	 * its function too ("__dsu_v0_f.__dsu_vdesc_x_1").
	 */
	if (!strstr(name, "__dsu_"))
		return 0;
	if (strstr(name, DSU_DESC_PREFIX))
		return dsu_addrs_push(&c->funcs, addr);
	if (strstr(name, DSU_VDESC_PREFIX))
		return dsu_addrs_push(&c->vars, addr);
	if (strstr(name, DSU_TDESC_PREFIX))
		return dsu_addrs_push(&c->types, addr);
	return 0;
}

/*
 * kallsyms gives no symbol type, and any symbol could contain the prefix:
 * read a candidate only when it lies wholly in the kernel's data, where the
 * descriptors are.
 */
static bool dsu_in_data(unsigned long addr, size_t size)
{
	return IS_ALIGNED(addr, sizeof(void *)) && is_kernel_core_data(addr) &&
	       is_kernel_core_data(addr + size - 1);
}

static struct __dsu_func_desc *dsu_check_func(unsigned long addr)
{
	struct __dsu_func_desc *d = (void *)addr;

	if (!dsu_in_data(addr, sizeof(*d)) || d->abi != DSU_ABI_VERSION || !d->name || !d->tu ||
	    !d->ptr || !d->body || !d->stub || !d->unit_hash)
		return NULL;
	return d;
}

static struct __dsu_var_desc *dsu_check_var(unsigned long addr)
{
	struct __dsu_var_desc *d = (void *)addr;

	if (!dsu_in_data(addr, sizeof(*d)) || d->abi != DSU_ABI_VERSION || !d->name || !d->tu ||
	    !d->addr || !d->unit_hash)
		return NULL;
	return d;
}

static struct __dsu_type_desc *dsu_check_type(unsigned long addr)
{
	struct __dsu_type_desc *d = (void *)addr;

	if (!dsu_in_data(addr, sizeof(*d)) || d->abi != DSU_ABI_VERSION || !d->name || !d->tu ||
	    !d->unit_hash || d->data_offset + d->data_size > d->size)
		return NULL;
	return d;
}

static int __init dsu_registry_build(void)
{
	struct dsu_collect c = {};
	unsigned int i;
	u64 t0 = ktime_get_ns();
	int ret;

	ret = kallsyms_on_each_symbol(dsu_collect_sym, &c);
	if (ret)
		goto out;
	ret = -ENOMEM;
	if (dsu_table_alloc(&dsu_reg.funcs, c.funcs.n) || dsu_table_alloc(&dsu_reg.vars, c.vars.n) ||
	    dsu_table_alloc(&dsu_reg.types, c.types.n) ||
	    dsu_table_alloc(&dsu_reg.units, c.funcs.n + c.vars.n + c.types.n))
		goto out;
	for (i = 0; i < c.funcs.n; i++) {
		struct __dsu_func_desc *d = dsu_check_func(c.funcs.v[i]);

		if (!d) {
			dsu_reg.skipped++;
			continue;
		}
		dsu_table_add(&dsu_reg.funcs, d->tu, d->name, d, false);
		dsu_table_add(&dsu_reg.units, d->tu, "", (void *)d->unit_hash, true);
	}
	for (i = 0; i < c.vars.n; i++) {
		struct __dsu_var_desc *d = dsu_check_var(c.vars.v[i]);

		if (!d) {
			dsu_reg.skipped++;
			continue;
		}
		dsu_table_add(&dsu_reg.vars, d->tu, d->name, d, false);
		dsu_table_add(&dsu_reg.units, d->tu, "", (void *)d->unit_hash, true);
	}
	for (i = 0; i < c.types.n; i++) {
		struct __dsu_type_desc *d = dsu_check_type(c.types.v[i]);

		if (!d) {
			dsu_reg.skipped++;
			continue;
		}
		dsu_table_add(&dsu_reg.types, d->tu, d->name, d, false);
		dsu_table_add(&dsu_reg.units, d->tu, "", (void *)d->unit_hash, true);
	}
	dsu_reg.build_ns = ktime_get_ns() - t0;
	dsu_reg.ready = true;
	ret = 0;
	pr_info("registry: %u functions, %u variables, %u wrapped types, %u units in %llu.%03llu ms (%u descriptors skipped, %u names ambiguous)\n",
		dsu_reg.funcs.count, dsu_reg.vars.count, dsu_reg.types.count, dsu_reg.units.count,
		dsu_reg.build_ns / NSEC_PER_MSEC, dsu_reg.build_ns % NSEC_PER_MSEC / NSEC_PER_USEC,
		dsu_reg.skipped,
		dsu_reg.funcs.dups + dsu_reg.vars.dups + dsu_reg.types.dups + dsu_reg.units.dups);
out:
	kvfree(c.funcs.v);
	kvfree(c.vars.v);
	kvfree(c.types.v);
	if (ret) {
		kvfree(dsu_reg.funcs.slots);
		kvfree(dsu_reg.vars.slots);
		kvfree(dsu_reg.types.slots);
		kvfree(dsu_reg.units.slots);
		memset(&dsu_reg, 0, sizeof(dsu_reg));
		pr_err("registry: not built (%d); patches cannot be applied\n", ret);
	}
	return ret;
}

/* ---------------------------------------------------------------------- */
/* struct dsu_env */

static struct __dsu_func_desc *dsu_env_find_func(const char *tu, const char *name)
{
	return dsu_table_find(&dsu_reg.funcs, tu, name);
}

static struct __dsu_var_desc *dsu_env_find_var(const char *tu, const char *name)
{
	return dsu_table_find(&dsu_reg.vars, tu, name);
}

static struct __dsu_type_desc *dsu_env_find_type(const char *tu, const char *name)
{
	return dsu_table_find(&dsu_reg.types, tu, name);
}

static const char *dsu_env_unit_hash(const char *tu)
{
	struct dsu_slot *s;

	if (!dsu_reg.units.slots || !tu)
		return NULL;
	s = dsu_table_probe(&dsu_reg.units, dsu_core_hash(tu, ""), tu, "");
	if (!s->tu)
		return NULL;
	/* Not NULL: the core would then say the kernel lacks the unit. */
	return s->dup ? dsu_unit_conflict : s->val;
}

static void *dsu_env_find_symbol(const char *name)
{
	return (void *)kallsyms_lookup_name(name);
}

static void *dsu_env_zalloc(unsigned long size)
{
	return kzalloc(size, GFP_KERNEL);
}

static void dsu_env_free(void *p)
{
	kfree(p);
}

/* The type slow path runs wherever the type is used: maybe atomic. */
static void *dsu_env_zalloc_atomic(unsigned long size)
{
	return kzalloc(size, GFP_ATOMIC);
}

static void dsu_env_relax(void)
{
	cpu_relax();
}

static const struct dsu_env dsu_env = {
	.find_func = dsu_env_find_func,
	.find_var = dsu_env_find_var,
	.unit_hash = dsu_env_unit_hash,
	.find_symbol = dsu_env_find_symbol,
	.find_type = dsu_env_find_type,
	.zalloc = dsu_env_zalloc,
	.free = dsu_env_free,
	.zalloc_atomic = dsu_env_zalloc_atomic,
	.relax = dsu_env_relax,
};

/* ---------------------------------------------------------------------- */
/* Apply and revert */

/* Serializes updates. */
static DEFINE_MUTEX(dsu_mutex);
/*
 * What /proc/dsu shows: the applied stack (changed only inside
 * stop_machine(), which updaters call with this held) and the reason an
 * update is waiting. Never held while an update sleeps between attempts, so
 * /proc/dsu answers while one waits.
 */
static DEFINE_MUTEX(dsu_state_mutex);
static char dsu_pending[384];
static struct dsu_core dsu_core;

/* One stack at a time, under stop_machine(); only used with dsu_mutex held. */
static unsigned long dsu_trace[DSU_TRACE_MAX];

/* The code a stack must not be in: [start, end) of one function. */
struct dsu_range {
	unsigned long start, end;
};

/*
 * An analysed patch's DSU_UNSAFE_FRAME rules, with the code of every
 * function they name found through kallsyms before stop_machine(). Names
 * are not unit-qualified: every function of a name gets the rules of all
 * functions of that name (more refusals, never fewer).
 */
struct dsu_fname {
	const char *name;
	unsigned int first, count; /* its rules, in dsu_frames.rules */
	unsigned int nany;         /* how many "?" rules it has (> 1: ambiguous name) */
};

struct dsu_code {
	unsigned long start, end;
	unsigned int name;
};

struct dsu_frames {
	unsigned int nnames, nrules, ncode;
	struct dsu_fname *names;                  /* sorted by name */
	const struct __dsu_patch_unsafe **rules;  /* sorted by where */
	int *callee;                              /* per rule: name index, -1 for "*" and "?" */
	struct dsu_code *code;                    /* sorted by start */
};

/* Why a stack stops an update. */
enum dsu_busy {
	DSU_BUSY_ACTIVE,	/* replaced (or reverted) code is active */
	DSU_BUSY_UNWIND,	/* the stack cannot be walked reliably */
	DSU_BUSY_TYPE,		/* a frame's old code is about to use a changed type */
	DSU_BUSY_TX,		/* a system call ran changed code and may run more */
};

/* Shared with the stop_machine() callback. */
struct dsu_stop {
	struct dsu_applied *apply;	/* commit this; NULL: revert the top */
	const struct dsu_range *ranges;
	unsigned int nranges;
	const struct dsu_frames *frames; /* an analysed patch's rules, or NULL */
	bool consistency;		/* check system calls too (dsu_consistency) */
	/* Out: */
	struct dsu_applied *reverted;
	u64 pause_ns;		/* in the callback that committed */
	u64 stop_ns;		/* its whole stop_machine(), CPUs rounded up included */
	unsigned int ntasks;	/* stacks it walked */
	/* Why the last attempt was refused. */
	enum dsu_busy busy;
	int err;		/* DSU_BUSY_UNWIND: the unwinder's error */
	unsigned long fn, addr;	/* the function and return address in question */
	unsigned long prior, future; /* DSU_BUSY_TX: return addresses of the frames */
	const char *why;	/* DSU_BUSY_TYPE: the rule's reason */
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

/*
 * Each function's extent, from kallsyms: a return address anywhere inside
 * means the function is still running. Done before stop_machine(): lookups
 * in module symbol tables are too slow for the pause.
 */
static int dsu_ranges(void **fns, unsigned int n, struct dsu_range *r)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		unsigned long size, off, addr = (unsigned long)fns[i];

		if (!kallsyms_lookup_size_offset(addr, &size, &off) || !size) {
			pr_err("cannot tell the extent of the function at %pS, so not whether it is active\n",
			       fns[i]);
			return -EINVAL;
		}
		r[i].start = addr - off;
		r[i].end = addr - off + size;
	}
	return 0;
}

static unsigned int dsu_save_stack(struct task_struct *t, int *err)
{
	int n;

	/*
	 * The reliable walk fails on anything it cannot vouch for (a frame
	 * without unwind data, a too deep stack) instead of silently ending
	 * early, which would let a still active function through.
	 */
	if (IS_ENABLED(CONFIG_HAVE_RELIABLE_STACKTRACE)) {
		n = stack_trace_save_tsk_reliable(t, dsu_trace, DSU_TRACE_MAX);
		if (n < 0) {
			*err = n;
			return 0;
		}
		return n;
	}
	n = stack_trace_save_tsk(t, dsu_trace, DSU_TRACE_MAX, 0);
	if (n == DSU_TRACE_MAX)
		*err = -E2BIG;
	return n;
}

/* ---- An analysed patch's frame rules (docs/safety.md, "Kernel runtime") */

static int dsu_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dsu_cmp_rule(const void *a, const void *b)
{
	return strcmp((*(const struct __dsu_patch_unsafe *const *)a)->where,
		      (*(const struct __dsu_patch_unsafe *const *)b)->where);
}

static int dsu_cmp_code(const void *a, const void *b)
{
	const struct dsu_code *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int dsu_cmp_fname(const void *key, const void *elt)
{
	return strcmp(key, ((const struct dsu_fname *)elt)->name);
}

static int dsu_frames_name(const struct dsu_frames *fr, const char *name)
{
	const struct dsu_fname *n = bsearch(name, fr->names, fr->nnames, sizeof(*n), dsu_cmp_fname);

	return n ? n - fr->names : -1;
}

static void dsu_frames_free(struct dsu_frames *fr)
{
	if (!fr)
		return;
	kvfree(fr->names);
	kvfree(fr->rules);
	kvfree(fr->callee);
	kvfree(fr->code);
	kfree(fr);
}

struct dsu_code_collect {
	struct dsu_code *v;
	unsigned int n, cap, name;
};

static int dsu_frames_collect(void *data, unsigned long addr)
{
	struct dsu_code_collect *c = data;
	unsigned long size, off;

	if (!kallsyms_lookup_size_offset(addr, &size, &off) || !size)
		return 0; /* not code with an extent (an alias of data, say) */
	if (c->n == c->cap) {
		unsigned int cap = c->cap ? 2 * c->cap : 256;
		struct dsu_code *v = kvmalloc_array(cap, sizeof(*v), GFP_KERNEL);

		if (!v)
			return -ENOMEM;
		if (c->n)
			memcpy(v, c->v, c->n * sizeof(*v));
		kvfree(c->v);
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].start = addr - off;
	c->v[c->n].end = addr - off + size;
	c->v[c->n].name = c->name;
	c->n++;
	return 0;
}

struct dsu_frames_scan {
	const struct dsu_frames *fr;
	struct dsu_code_collect *code;
};

/* A symbol named by a rule, itself or its dsu-cc body __dsu_v0_<name>. */
static int dsu_frames_scan_symbol(void *data, const char *sym, unsigned long addr)
{
	struct dsu_frames_scan *scan = data;
	const size_t body = sizeof(DSU_BODY_PREFIX) - 1;
	int i;

	if (!strncmp(sym, DSU_BODY_PREFIX, body))
		sym += body;
	i = dsu_frames_name(scan->fr, sym);
	if (i < 0)
		return 0;
	scan->code->name = i;
	return dsu_frames_collect(scan->code, addr);
}

/*
 * The rules and the code of the functions they name (the function itself
 * and its dsu-cc body __dsu_v0_<name>; the stub only jumps, it never has a
 * frame). Functions in loadable modules are not looked up: dsu-cc's registry
 * is vmlinux's, and an analysed patch has no patch below it. NULL with
 * *ret = 0 when the patch has no frame rules.
 */
static struct dsu_frames *dsu_frames_build(const struct __dsu_patch *patch, int *ret)
{
	struct dsu_frames *fr;
	struct dsu_code_collect code = {};
	struct dsu_frames_scan scan;
	const char **strs = NULL;
	unsigned int i, j, n = 0, nstr = 0;

	*ret = 0;
	for (i = 0; i < patch->nunsafe; i++)
		n += patch->unsafe[i].kind == DSU_UNSAFE_FRAME;
	if (!n)
		return NULL;
	*ret = -ENOMEM;
	fr = kzalloc(sizeof(*fr), GFP_KERNEL);
	if (!fr)
		return NULL;
	fr->nrules = n;
	/* A kernel-wide change set gives ~100 000 rules: vmalloc, not kmalloc. */
	fr->rules = kvcalloc(n, sizeof(*fr->rules), GFP_KERNEL);
	fr->callee = kvcalloc(n, sizeof(*fr->callee), GFP_KERNEL);
	strs = kvcalloc(2 * n, sizeof(*strs), GFP_KERNEL);
	if (!fr->rules || !fr->callee || !strs)
		goto fail;
	for (i = 0, j = 0; i < patch->nunsafe; i++) {
		const struct __dsu_patch_unsafe *u = &patch->unsafe[i];

		if (u->kind != DSU_UNSAFE_FRAME)
			continue;
		if (!u->where || !u->callee) {
			pr_err("apply %s: malformed frame rule %u; nothing changed\n", patch->name, i);
			*ret = -EINVAL;
			goto fail;
		}
		fr->rules[j++] = u;
		strs[nstr++] = u->where;
		if (strcmp(u->callee, "*") && strcmp(u->callee, "?"))
			strs[nstr++] = u->callee;
	}
	sort(fr->rules, n, sizeof(*fr->rules), dsu_cmp_rule, NULL);
	sort(strs, nstr, sizeof(*strs), dsu_cmp_str, NULL);
	fr->names = kvcalloc(nstr, sizeof(*fr->names), GFP_KERNEL);
	if (!fr->names)
		goto fail;
	for (i = 0; i < nstr; i++)
		if (!fr->nnames || strcmp(fr->names[fr->nnames - 1].name, strs[i]))
			fr->names[fr->nnames++].name = strs[i];
	for (i = 0; i < n; i++) {
		const struct __dsu_patch_unsafe *u = fr->rules[i];
		struct dsu_fname *w = &fr->names[dsu_frames_name(fr, u->where)];

		if (!w->count)
			w->first = i;
		w->count++;
		w->nany += !strcmp(u->callee, "?");
		fr->callee[i] = dsu_frames_name(fr, u->callee);
	}
	/*
	 * The code of every name, callees too (they tell the call sites
	 * apart): one pass over the symbol table, each symbol looked up among
	 * the names. (A lookup per name took 1.3 s under QEMU for the ~18 000
	 * names of a one-function patch's rules: each is a binary search that
	 * expands a compressed name at every step, twice per name.)
	 */
	scan.fr = fr;
	scan.code = &code;
	*ret = kallsyms_on_each_symbol(dsu_frames_scan_symbol, &scan);
	if (*ret)
		goto fail;
	sort(code.v, code.n, sizeof(*code.v), dsu_cmp_code, NULL);
	fr->code = code.v;
	fr->ncode = code.n;
	kvfree(strs);
	return fr;
fail:
	kvfree(code.v);
	kvfree(strs);
	dsu_frames_free(fr);
	return NULL;
}

/* The name index of the table function `addr` lies in, or -1. */
static int dsu_frames_at(const struct dsu_frames *fr, unsigned long addr)
{
	unsigned int lo = 0, hi = fr->ncode;
	int i;

	/* The last code starting at or before addr... */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (fr->code[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ...or one of its aliases starting at the same place. */
	for (i = (int)lo - 1; i >= 0 && fr->code[i].start == fr->code[lo - 1].start; i--)
		if (addr < fr->code[i].end)
			return fr->code[i].name;
	return -1;
}

/*
 * The flags for a frame of function `w` whose next inner frame is in
 * function `c` (-1: unknown, or not a named callee): the rules for that
 * call, else the function's "?" rule (everything in it). An ambiguous name
 * (several functions) always gets all its "?" rules.
 */
static unsigned int dsu_frames_flags(const struct dsu_frames *fr, int w, int c, const char **why)
{
	const struct dsu_fname *n = &fr->names[w];
	unsigned int i, by_callee = 0, any = 0;
	bool found = false;
	const char *why_callee = NULL, *why_any = NULL;

	for (i = n->first; i < n->first + n->count; i++) {
		const struct __dsu_patch_unsafe *u = fr->rules[i];

		if (!strcmp(u->callee, "?")) {
			any |= u->flags;
			if ((u->flags & DSU_FRAME_TYPE) && !why_any)
				why_any = u->why;
		} else if (c >= 0 && fr->callee[i] == c) {
			found = true;
			by_callee |= u->flags;
			if ((u->flags & DSU_FRAME_TYPE) && !why_callee)
				why_callee = u->why;
		}
	}
	if (found && n->nany <= 1) {
		*why = why_callee;
		return by_callee;
	}
	*why = why_any;
	return any;
}

/*
 * The analysis's verdict on one stack (dsu_trace[0..n), innermost first):
 * no frame's old code may be about to use a changed type concretely, and
 * inside the outermost transaction (system call) on the stack, the patch
 * may meet what already ran or what may still run, not both.
 */
static int dsu_check_frames(struct dsu_stop *s, unsigned int n)
{
	const struct dsu_frames *fr = s->frames;
	unsigned long prior = 0, future = 0;
	bool in_tx = false;
	unsigned int i;

	for (i = n; i-- > 0;) {
		/* Return addresses: the call is the byte before. */
		int w = dsu_frames_at(fr, dsu_trace[i] - 1);
		int c = i ? dsu_frames_at(fr, dsu_trace[i - 1] - 1) : -1;
		const char *why = NULL;
		unsigned int fl;

		if (w < 0)
			continue;
		fl = dsu_frames_flags(fr, w, c, &why);
		if (fl & DSU_FRAME_TYPE) {
			s->busy = DSU_BUSY_TYPE;
			s->addr = dsu_trace[i];
			s->why = why;
			return -EBUSY;
		}
		in_tx |= fl & DSU_FRAME_TXROOT;
		if (!in_tx || !s->consistency)
			continue;
		if ((fl & DSU_FRAME_PRIOR) && !prior)
			prior = dsu_trace[i];
		if ((fl & DSU_FRAME_FUTURE) && !future)
			future = dsu_trace[i];
		if (prior && future) {
			s->busy = DSU_BUSY_TX;
			s->prior = prior;
			s->future = future;
			return -EBUSY;
		}
	}
	return 0;
}

/* -EBUSY, with the culprit in s, when t's stack stops the update. */
static int dsu_check_task(struct dsu_stop *s, struct task_struct *t)
{
	unsigned int i, j, n;
	int err = 0;

	/*
	 * Under stop_machine() the task on each CPU is its stopper thread
	 * (this one included), which runs nothing but stop_machine code; the
	 * stack of a running task cannot be walked anyway.
	 */
	if (task_curr(t))
		return 0;
	s->ntasks++;
	n = dsu_save_stack(t, &err);
	if (err) {
		s->busy = DSU_BUSY_UNWIND;
		s->err = err;
		goto busy;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < s->nranges; j++)
			if (dsu_trace[i] >= s->ranges[j].start && dsu_trace[i] < s->ranges[j].end) {
				s->busy = DSU_BUSY_ACTIVE;
				s->fn = s->ranges[j].start;
				s->addr = dsu_trace[i];
				goto busy;
			}
	if (s->frames && dsu_check_frames(s, n))
		goto busy;
	return 0;
busy:
	s->pid = task_pid_nr(t);
	strscpy(s->comm, t->comm, sizeof(s->comm));
	return -EBUSY;
}

static int dsu_check_stacks(struct dsu_stop *s)
{
	struct task_struct *g, *t;
	int cpu, ret = 0;

	rcu_read_lock();
	for_each_process_thread(g, t) {
		ret = dsu_check_task(s, t);
		if (ret)
			goto out;
	}
	/* Idle tasks are not on the task list, but can be inside code too. */
	for_each_online_cpu(cpu) {
		ret = dsu_check_task(s, idle_task(cpu));
		if (ret)
			goto out;
	}
out:
	rcu_read_unlock();
	return ret;
}

/* Runs on one CPU while every other online CPU spins with interrupts off. */
static int dsu_stop_fn(void *data)
{
	struct dsu_stop *s = data;
	u64 t0 = ktime_get_mono_fast_ns();
	int ret;

	s->ntasks = 0;
	ret = dsu_check_stacks(s);
	if (ret)
		return ret;
	if (s->apply)
		dsu_core_commit(&dsu_core, s->apply);
	else
		s->reverted = dsu_core_revert_commit(&dsu_core);
	s->pause_ns = ktime_get_mono_fast_ns() - t0;
	return 0;
}

/* Why the last attempt was refused, in words. */
static void dsu_busy_reason(const struct dsu_stop *s, char *buf, size_t len)
{
	switch (s->busy) {
	case DSU_BUSY_UNWIND:
		snprintf(buf, len, "the stack of %s (pid %d) cannot be walked reliably (%d)", s->comm,
			 s->pid, s->err);
		break;
	case DSU_BUSY_ACTIVE:
		snprintf(buf, len, "%ps is active in %s (pid %d) at %pB", (void *)s->fn, s->comm, s->pid,
			 (void *)s->addr);
		break;
	case DSU_BUSY_TYPE:
		snprintf(buf, len, "%s (pid %d) will return to %pB, whose old code is unsafe: %s",
			 s->comm, s->pid, (void *)s->addr, s->why ? s->why : "it uses a changed type");
		break;
	case DSU_BUSY_TX:
		snprintf(buf, len,
			 "%s (pid %d) is inside a system call that already ran code the patch changes (in %pB) and may run more of it (after %pB)",
			 s->comm, s->pid, (void *)s->prior, (void *)s->future);
		break;
	}
}

static void dsu_set_pending(const char *fmt, ...)
{
	va_list ap;

	mutex_lock(&dsu_state_mutex);
	va_start(ap, fmt);
	vsnprintf(dsu_pending, sizeof(dsu_pending), fmt, ap);
	va_end(ap);
	mutex_unlock(&dsu_state_mutex);
}

/*
 * stop_machine() until the stacks are clear, backing off in between, for
 * at most dsu_timeout_ms; /proc/dsu shows why it waits meanwhile. On
 * failure says why, naming the task and the function.
 */
static int dsu_stop_retry(struct dsu_stop *s, const char *what, const char *patch)
{
	static char reason[256]; /* under dsu_mutex */
	unsigned int delay = DSU_BACKOFF_MIN_MS, tries = 0;
	u64 t0 = ktime_get_ns(), limit = (u64)READ_ONCE(dsu_timeout_ms) * NSEC_PER_MSEC;
	u64 t, elapsed;
	int ret;

	for (;;) {
		t = ktime_get_ns();
		mutex_lock(&dsu_state_mutex);
		ret = stop_machine(dsu_stop_fn, s, NULL);
		mutex_unlock(&dsu_state_mutex);
		tries++;
		if (ret != -EBUSY) {
			s->stop_ns = ktime_get_ns() - t;
			goto out;
		}
		elapsed = ktime_get_ns() - t0;
		dsu_busy_reason(s, reason, sizeof(reason));
		dsu_set_pending("%s %s: waiting %llu ms (%u tries): %s", what, patch,
				elapsed / NSEC_PER_MSEC, tries, reason);
		if (elapsed >= limit)
			break;
		/* The last attempt comes at the deadline, not a backoff step before it. */
		delay = min_t(u64, delay, div_u64(limit - elapsed, NSEC_PER_MSEC) + 1);
		if (msleep_interruptible(delay) || signal_pending(current)) {
			pr_err("%s %s: interrupted while waiting; nothing changed\n", what, patch);
			ret = -EINTR;
			goto out;
		}
		delay = min(2 * delay, DSU_BACKOFF_MAX_MS);
	}
	pr_err("%s %s: gave up after %u tries in %llu ms: %s; nothing changed\n", what, patch, tries,
	       elapsed / NSEC_PER_MSEC, reason);
	ret = -EBUSY;
out:
	dsu_set_pending("%s", "");
	return ret;
}

/* The extents of `n` functions, allocated; NULL on failure (logged). */
static struct dsu_range *dsu_ranges_alloc(void **fns, unsigned int n, int *ret)
{
	struct dsu_range *r = kcalloc(max(n, 1U), sizeof(*r), GFP_KERNEL);

	*ret = -ENOMEM;
	if (!r)
		return NULL;
	*ret = dsu_ranges(fns, n, r);
	if (*ret) {
		kfree(r);
		return NULL;
	}
	return r;
}

int dsu_apply(const struct __dsu_patch *patch, struct module *owner)
{
	static char err[DSU_CORE_ERRLEN];
	struct dsu_stop s = {};
	struct dsu_applied *a;
	struct dsu_range *ranges = NULL;
	struct dsu_frames *frames = NULL;
	void **fns = NULL;
	unsigned int n;
	u64 t0 = ktime_get_ns();
	int ret;

	if (!patch)
		return -EINVAL;
	mutex_lock(&dsu_mutex);
	if (!dsu_reg.ready) {
		pr_err("apply %s: no registry (see the boot log); nothing changed\n", patch->name);
		ret = -ENOENT;
		goto out;
	}
	if (dsu_core_prepare(&dsu_core, patch, &a, err, sizeof(err))) {
		pr_err("apply: %s; nothing changed\n", err);
		ret = -EINVAL;
		goto out;
	}
	a->prepare_ns = ktime_get_ns() - t0;
	/* The patch's code and data live in owner: it must stay while applied. */
	if (!try_module_get(owner)) {
		pr_err("apply %s: its module is being unloaded; nothing changed\n", patch->name);
		ret = -ENOENT;
		goto discard;
	}
	a->handle = owner;

	s.apply = a;
	if (patch->analysed) {
		/*
		 * The analysis's frame rules are the whole truth: replaced code
		 * may stay active where they allow it (it finishes as old code).
		 */
		s.frames = frames = dsu_frames_build(patch, &ret);
		s.consistency = READ_ONCE(dsu_consistency);
		if (ret)
			goto put;
	} else {
		ret = -ENOMEM;
		fns = kcalloc(max(a->nfuncs, 1U), sizeof(*fns), GFP_KERNEL);
		if (!fns)
			goto put;
		n = dsu_core_apply_code(a, fns, a->nfuncs);
		ranges = dsu_ranges_alloc(fns, n, &ret);
		if (!ranges)
			goto put;
		s.ranges = ranges;
		s.nranges = n;
	}
	ret = dsu_stop_retry(&s, "apply", patch->name);
	if (ret)
		goto put;
	mutex_lock(&dsu_state_mutex); /* /proc/dsu shows them */
	a->pause_ns = s.pause_ns;
	a->total_ns = ktime_get_ns() - t0;
	mutex_unlock(&dsu_state_mutex);
	pr_info("applied %s (level %u, %u functions%s): pause %llu.%03llu us (%u stacks; stop_machine %llu us), total %llu us\n",
		patch->name, a->level, a->nfuncs,
		patch->analysed ? ", safety analysed" : "", a->pause_ns / NSEC_PER_USEC,
		a->pause_ns % NSEC_PER_USEC, s.ntasks, s.stop_ns / NSEC_PER_USEC,
		a->total_ns / NSEC_PER_USEC);
	goto out;
put:
	module_put(owner);
discard:
	dsu_core_discard(&dsu_core, a);
out:
	mutex_unlock(&dsu_mutex);
	dsu_frames_free(frames);
	kfree(ranges);
	kfree(fns);
	return ret;
}
EXPORT_SYMBOL_GPL(dsu_apply);

int dsu_revert(void)
{
	static char errbuf[DSU_CORE_ERRLEN]; /* under dsu_mutex */
	struct dsu_stop s = {};
	struct dsu_applied *top, *a;
	struct dsu_range *ranges = NULL;
	void **fns = NULL;
	unsigned int n, cap;
	u64 t0 = ktime_get_ns(), total;
	int ret;

	mutex_lock(&dsu_mutex);
	top = dsu_core.top;
	if (dsu_core_revert_check(&dsu_core, errbuf, sizeof(errbuf))) {
		pr_err("revert: %s\n", errbuf);
		ret = top ? -EPERM : -ENOENT;
		goto out;
	}
	cap = top->nfuncs + top->patch->nnew_funcs;
	ret = -ENOMEM;
	fns = kcalloc(max(cap, 1U), sizeof(*fns), GFP_KERNEL);
	if (!fns)
		goto out;
	n = dsu_core_revert_code(&dsu_core, fns, cap);
	ranges = dsu_ranges_alloc(fns, n, &ret);
	if (!ranges)
		goto out;
	s.ranges = ranges;
	s.nranges = n;
	ret = dsu_stop_retry(&s, "revert", top->patch->name);
	if (ret)
		goto out;
	a = s.reverted;
	total = ktime_get_ns() - t0;
	pr_info("reverted %s (level %u): pause %llu.%03llu us (%u stacks; stop_machine %llu us), total %llu us\n",
		a->patch->name, a->level, s.pause_ns / NSEC_PER_USEC, s.pause_ns % NSEC_PER_USEC,
		s.ntasks, s.stop_ns / NSEC_PER_USEC, total / NSEC_PER_USEC);
	/* Nothing runs or points into the patch any more: its module may go. */
	module_put(a->handle);
	dsu_core_discard(&dsu_core, a);
out:
	mutex_unlock(&dsu_mutex);
	kfree(ranges);
	kfree(fns);
	return ret;
}
EXPORT_SYMBOL_GPL(dsu_revert);

/*
 * The slow path of every __dsu_con_T in the kernel and in patch modules.
 * Stale code touching a transformed instance means an update was unsafe;
 * say so loudly (once per type) and let the caller go on: stopping the
 * kernel here would lose more than it saves.
 */
void __dsu_type_slow(struct __dsu_type_desc *type, void *obj, unsigned int expected)
{
	char err[DSU_CORE_ERRLEN];

	if (!dsu_core_type_slow(&dsu_core, type, obj, expected, err, sizeof(err)))
		return;
	WARN_ONCE(1, "dsu: %s\n", err);
}
EXPORT_SYMBOL(__dsu_type_slow);

/*
 * Shadow data (abi.h): fields patches add to structs that are not wrapped,
 * keyed by (object, field id), as livepatch's shadow variables. Reached from
 * any context, so allocated atomically under a spinlock.
 */
struct dsu_shadow {
	struct hlist_node node;
	const void *obj;
	unsigned long id;
	unsigned long size;
	unsigned char data[] __aligned(16);
};

static DEFINE_HASHTABLE(dsu_shadow_hash, 10);
static DEFINE_SPINLOCK(dsu_shadow_lock);
/* What a failed allocation gets instead of a NULL dereference (and a warning). */
static unsigned char dsu_shadow_scratch[256] __aligned(16);

void *__dsu_shadow(const void *obj, unsigned long id, unsigned long size)
{
	struct dsu_shadow *s, *n;
	unsigned long flags;

	spin_lock_irqsave(&dsu_shadow_lock, flags);
	hash_for_each_possible(dsu_shadow_hash, s, node, (unsigned long)obj)
		if (s->obj == obj && s->id == id)
			goto found;
	spin_unlock_irqrestore(&dsu_shadow_lock, flags);
	n = kzalloc(sizeof(*n) + size, GFP_ATOMIC);
	spin_lock_irqsave(&dsu_shadow_lock, flags);
	/* Another CPU may have made it meanwhile. */
	hash_for_each_possible(dsu_shadow_hash, s, node, (unsigned long)obj)
		if (s->obj == obj && s->id == id) {
			kfree(n);
			goto found;
		}
	if (!n) {
		spin_unlock_irqrestore(&dsu_shadow_lock, flags);
		WARN_ONCE(1, "dsu: no memory for shadow data of %p\n", obj);
		memset(dsu_shadow_scratch, 0, sizeof(dsu_shadow_scratch));
		return dsu_shadow_scratch;
	}
	n->obj = obj;
	n->id = id;
	n->size = size;
	hash_add(dsu_shadow_hash, &n->node, (unsigned long)obj);
	s = n;
found:
	WARN_ONCE(s->size < size, "dsu: shadow field %#lx used with size %lu, made with %lu\n",
		  id, size, s->size);
	spin_unlock_irqrestore(&dsu_shadow_lock, flags);
	return s->data;
}
EXPORT_SYMBOL(__dsu_shadow);

void *__dsu_shadow_release(const void *obj)
{
	struct dsu_shadow *s;
	struct hlist_node *tmp;
	unsigned long flags;
	HLIST_HEAD(gone);

	spin_lock_irqsave(&dsu_shadow_lock, flags);
	hash_for_each_possible_safe(dsu_shadow_hash, s, tmp, node, (unsigned long)obj)
		if (s->obj == obj) {
			hash_del(&s->node);
			hlist_add_head(&s->node, &gone);
		}
	spin_unlock_irqrestore(&dsu_shadow_lock, flags);
	hlist_for_each_entry_safe(s, tmp, &gone, node)
		kfree(s);
	return (void *)obj;
}
EXPORT_SYMBOL(__dsu_shadow_release);

/* ---------------------------------------------------------------------- */
/* /proc/dsu */

static int dsu_proc_show(struct seq_file *m, void *v)
{
	const struct dsu_applied *a;

	/* Not dsu_mutex: that one is held while an update waits. */
	if (mutex_lock_interruptible(&dsu_state_mutex))
		return -EINTR;
	seq_puts(m, "level name functions pause_us total_us\n");
	for (a = dsu_core.top; a; a = a->below)
		seq_printf(m, "%u %s %u %llu.%03llu %llu\n", a->level, a->patch->name, a->nfuncs,
			   a->pause_ns / NSEC_PER_USEC, a->pause_ns % NSEC_PER_USEC,
			   a->total_ns / NSEC_PER_USEC);
	seq_printf(m, "registry: %u functions, %u variables, %u units, built in %llu us\n",
		   dsu_reg.funcs.count, dsu_reg.vars.count, dsu_reg.units.count,
		   dsu_reg.build_ns / NSEC_PER_USEC);
	if (dsu_pending[0])
		seq_printf(m, "pending: %s\n", dsu_pending);
	mutex_unlock(&dsu_state_mutex);
	return 0;
}

static int dsu_proc_open(struct inode *inode, struct file *file)
{
	return single_open(file, dsu_proc_show, NULL);
}

static ssize_t dsu_proc_write(struct file *file, const char __user *ubuf, size_t count,
			      loff_t *ppos)
{
	char buf[16];
	int ret;

	/* Reverting swaps kernel code like unloading a module does. */
	if (!capable(CAP_SYS_MODULE))
		return -EPERM;
	if (count >= sizeof(buf)) {
		pr_err("/proc/dsu: unknown command (the only one is \"revert\")\n");
		return -EINVAL;
	}
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = 0;
	if (strcmp(strim(buf), "revert")) {
		pr_err("/proc/dsu: unknown command \"%s\" (the only one is \"revert\")\n", strim(buf));
		return -EINVAL;
	}
	ret = dsu_revert();
	return ret ? ret : count;
}

static const struct proc_ops dsu_proc_ops = {
	.proc_open = dsu_proc_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = dsu_proc_write,
};

/*
 * late_initcall: kallsyms is complete long before, and every built-in
 * descriptor is in place; patches come from modules, which load later.
 */
static int __init dsu_init(void)
{
	dsu_core_init(&dsu_core, &dsu_env);
	dsu_registry_build();
	if (!proc_create("dsu", 0644, NULL, &dsu_proc_ops))
		pr_err("cannot create /proc/dsu\n");
	return 0;
}
late_initcall(dsu_init);
