// SPDX-License-Identifier: GPL-2.0
/*
 * An analysed patch's frame rules (docs/safety.md, "Kernel runtime"): which
 * frames may not be on a stack when it is applied, looked up by the return
 * addresses of each stack the transition walks.
 */
#include "internal.h"

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

void dsu_frames_free(struct dsu_frames *fr)
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
	if (dsu_array_reserve((void **)&c->v, c->n, &c->cap, sizeof(*c->v), 256))
		return -ENOMEM;
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
struct dsu_frames *dsu_frames_build(const struct __dsu_patch *patch, int *ret)
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
 * The analysis's verdict on one stack (trace[0..n), innermost first):
 * no frame's old code may be about to use a changed type concretely, and
 * inside the outermost transaction (system call) on the stack, the patch
 * may meet what already ran or what may still run, not both.
 */
int dsu_check_frames(struct dsu_stop *s, const unsigned long *trace, unsigned int n)
{
	const struct dsu_frames *fr = s->frames;
	unsigned long prior = 0, future = 0;
	bool in_tx = false;
	unsigned int i;

	for (i = n; i-- > 0;) {
		/* Return addresses: the call is the byte before. */
		int w = dsu_frames_at(fr, trace[i] - 1);
		int c = i ? dsu_frames_at(fr, trace[i - 1] - 1) : -1;
		const char *why = NULL;
		unsigned int fl;

		if (w < 0)
			continue;
		fl = dsu_frames_flags(fr, w, c, &why);
		if (fl & DSU_FRAME_TYPE) {
			s->busy = DSU_BUSY_TYPE;
			s->addr = trace[i];
			s->why = why;
			return -EBUSY;
		}
		in_tx |= fl & DSU_FRAME_TXROOT;
		if (!in_tx || !s->consistency)
			continue;
		if ((fl & DSU_FRAME_PRIOR) && !prior)
			prior = trace[i];
		if ((fl & DSU_FRAME_FUTURE) && !future)
			future = trace[i];
		if (prior && future) {
			s->busy = DSU_BUSY_TX;
			s->prior = prior;
			s->future = future;
			return -EBUSY;
		}
	}
	return 0;
}
