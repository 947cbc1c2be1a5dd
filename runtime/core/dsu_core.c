// SPDX-License-Identifier: GPL-2.0
/* The update core shared by the user-space and kernel runtimes: dsu_core.h. */
#ifdef __KERNEL__
#include <linux/kernel.h>
#include <linux/string.h>
#else
#include <stdio.h>
#include <string.h>
#endif

#include "dsu_core.h"
#include "dsu_registry.h"

#define fail(...) (snprintf(err, errlen, __VA_ARGS__), -1)

void dsu_core_init(struct dsu_core *core, const struct dsu_env *env)
{
	core->env = env;
	core->top = NULL;
	core->depth = 0;
}

/*
 * What the applied patches added, newest first: their new functions'
 * descriptors (vars = 0) or their new statics' (vars = 1) with this unit
 * and name; NULL when none did.
 */
static const void *find_added(const struct dsu_core *core, const char *tu, const char *name,
			      int vars)
{
	const struct dsu_applied *a;
	unsigned int i, n;

	for (a = core->top; a; a = a->below) {
		n = vars ? a->patch->nnew_vars : a->patch->nnew_funcs;
		for (i = 0; i < n; i++) {
			const char *dname = vars ? a->patch->new_vars[i]->name
						 : a->patch->new_funcs[i]->name;
			const char *dtu = vars ? a->patch->new_vars[i]->tu : a->patch->new_funcs[i]->tu;

			if (!strcmp(dname, name) && !strcmp(dtu, tu))
				return vars ? (const void *)a->patch->new_vars[i]
					    : (const void *)a->patch->new_funcs[i];
		}
	}
	return NULL;
}

struct __dsu_func_desc *dsu_core_find_func(const struct dsu_core *core, const char *tu,
					   const char *name)
{
	const void *added = find_added(core, tu, name, 0);

	return added ? (struct __dsu_func_desc *)added
		     : dsu_registry_find_func(core->env->registry, tu, name);
}

struct __dsu_var_desc *dsu_core_find_var(const struct dsu_core *core, const char *tu,
					 const char *name)
{
	const void *added = find_added(core, tu, name, 1);

	return added ? (struct __dsu_var_desc *)added
		     : dsu_registry_find_var(core->env->registry, tu, name);
}

/* Whether the patch on top of the stack is the one `patch` was made for. */
static int parent_matches(const struct dsu_core *core, const struct __dsu_patch *patch)
{
	const char *top = core->top ? core->top->patch->name : "";

	return !strcmp(top, patch->parent ? patch->parent : "");
}

static int lists_unit(const struct __dsu_patch *patch, const char *tu)
{
	unsigned int i;

	for (i = 0; i < patch->nunits; i++)
		if (!strcmp(patch->units[i].tu, tu))
			return 1;
	return 0;
}

/* A patch whose tables are incomplete or inconsistent is malformed. */
static int check_tables(const struct __dsu_patch *patch, char *err, unsigned long errlen)
{
	unsigned int i;

	if (!patch->name || !patch->parent || (patch->nunits && !patch->units) ||
	    (patch->nfuncs && !patch->funcs) || (patch->nrefs && !patch->refs) ||
	    (patch->nnew_funcs && !patch->new_funcs) || (patch->nnew_vars && !patch->new_vars) ||
	    (patch->ntypes && !patch->types) || (patch->nunsafe && !patch->unsafe))
		return fail("malformed patch: missing name, parent or tables");
	for (i = 0; i < patch->nunits; i++)
		if (!patch->units[i].tu || !patch->units[i].unit_hash)
			return fail("malformed patch %s: unit %u has no name or hash", patch->name, i);
	for (i = 0; i < patch->nfuncs; i++)
		if (!patch->funcs[i].tu || !patch->funcs[i].name || !patch->funcs[i].fn)
			return fail("malformed patch %s: function entry %u is incomplete", patch->name, i);
	for (i = 0; i < patch->nrefs; i++) {
		const struct __dsu_patch_ref *r = &patch->refs[i];

		if (!r->name || !r->slot || (r->kind != DSU_REF_SYMBOL && !r->tu))
			return fail("malformed patch %s: reference %u is incomplete", patch->name, i);
		/* A reference into a unit reaches that build's statics: the
		 * unit must be one the patch was checked against. */
		if (r->kind != DSU_REF_SYMBOL && !lists_unit(patch, r->tu))
			return fail("patch %s refers to %s:%s but does not list unit %s among the "
				    "units it was built against", patch->name, r->tu, r->name, r->tu);
	}
	for (i = 0; i < patch->ntypes; i++) {
		const struct __dsu_patch_type *t = &patch->types[i];

		if (!t->tu || !t->name || !t->transform)
			return fail("malformed patch %s: type entry %u is incomplete", patch->name, i);
		if (!lists_unit(patch, t->tu))
			return fail("patch %s changes %s of %s but does not list unit %s among the "
				    "units it was built against", patch->name, t->name, t->tu, t->tu);
	}
	for (i = 0; i < patch->nfuncs; i++)
		if (!lists_unit(patch, patch->funcs[i].tu))
			return fail("patch %s replaces %s:%s but does not list unit %s among the "
				    "units it was built against", patch->name, patch->funcs[i].tu,
				    patch->funcs[i].name, patch->funcs[i].tu);
	return 0;
}

/* The patch must fit the running program: its place on the stack and the
 * builds of the units it was made against. */
static int check_base(const struct dsu_core *core, const struct __dsu_patch *patch, char *err,
		      unsigned long errlen)
{
	const struct dsu_applied *a;
	unsigned int i;

	for (a = core->top; a; a = a->below)
		if (!strcmp(a->patch->name, patch->name))
			return fail("patch %s is already applied (level %u)", patch->name,
				    a->level);
	if (!parent_matches(core, patch))
		return fail("patch %s must be applied on top of %s, but the top of the stack is %s",
			    patch->name, patch->parent && *patch->parent ? patch->parent : "the base",
			    core->top ? core->top->patch->name : "the base");
	for (i = 0; i < patch->nunits; i++) {
		const struct __dsu_patch_unit *u = &patch->units[i];
		const char *have = dsu_registry_unit_hash(core->env->registry, u->tu);

		if (!have)
			return fail("patch %s was built against unit %s, which the running "
				    "program does not have", patch->name, u->tu);
		if (strcmp(have, u->unit_hash))
			return fail("patch %s was built against another build of %s "
				    "(unit hash %.12s..., running %.12s...)", patch->name, u->tu,
				    u->unit_hash, have);
	}
	return 0;
}

/* A descriptor emitted by another ABI cannot be read past its first field. */
static int abi_differs(unsigned int abi, const char *what, const char *tu, char *err,
		       unsigned long errlen)
{
	if (abi == DSU_ABI_VERSION)
		return 0;
	snprintf(err, errlen, "%s of %s was built with DSU ABI %u, the runtime has %u", what, tu,
		 abi, DSU_ABI_VERSION);
	return 1;
}

/* Each replaced function: its running descriptor, once. */
static int resolve_funcs(const struct dsu_core *core, struct dsu_applied *a, char *err,
			 unsigned long errlen)
{
	const struct __dsu_patch *patch = a->patch;
	unsigned int i, j;

	for (i = 0; i < patch->nfuncs; i++) {
		const struct __dsu_patch_func *f = &patch->funcs[i];
		struct __dsu_func_desc *d = dsu_core_find_func(core, f->tu, f->name);

		if (!d)
			return fail("patch %s replaces %s:%s, which is not an updateable function "
				    "of the running program", patch->name, f->tu, f->name);
		if (abi_differs(d->abi, f->name, f->tu, err, errlen))
			return -1;
		for (j = 0; j < i; j++)
			if (a->funcs[j].desc == d)
				return fail("patch %s replaces %s:%s twice", patch->name, f->tu,
					    f->name);
		a->funcs[i].desc = d;
		a->funcs[i].new_fn = f->fn;
	}
	return 0;
}

/* Changed type i: its running descriptor, once, one version up, and a new
 * representation that fits the instances. */
static int resolve_type(const struct dsu_core *core, struct dsu_applied *a, unsigned int i,
			char *err, unsigned long errlen)
{
	const struct __dsu_patch_type *t = &a->patch->types[i];
	struct __dsu_type_desc *d = dsu_registry_find_type(core->env->registry, t->tu, t->name);
	const char *patch = a->patch->name;
	unsigned int j;

	if (!d)
		return fail("patch %s changes %s of %s, which the running program does not wrap",
			    patch, t->name, t->tu);
	if (abi_differs(d->abi, t->name, t->tu, err, errlen))
		return -1;
	/* The instances carry the tag: a wrong one would make every instance
	 * look fresh, and none be transformed. */
	if (d->tag != dsu_core_hash(d->tu, d->name))
		return fail("%s of %s has tag %#x in its descriptor, not %#x", t->name, t->tu,
			    d->tag, dsu_core_hash(d->tu, d->name));
	if (t->version != d->version_now + 1)
		return fail("patch %s brings %s of %s to version %u, but the running program "
			    "has it in version %u", patch, t->name, t->tu, t->version,
			    d->version_now);
	if (t->rep_size > d->data_size)
		return fail("patch %s: the new %s (%lu bytes) does not fit in the %lu bytes its "
			    "instances have", patch, t->name, t->rep_size, d->data_size);
	for (j = 0; j < i; j++)
		if (a->types[j].desc == d)
			return fail("patch %s changes %s of %s twice", patch, t->name, t->tu);
	a->types[i].desc = d;
	a->types[i].update = t;
	return 0;
}

/* Each reference slot of the patch code: the address it names now. */
static int resolve_refs(const struct dsu_core *core, const struct __dsu_patch *patch, char *err,
			unsigned long errlen)
{
	const struct dsu_env *env = core->env;
	unsigned int i;

	for (i = 0; i < patch->nrefs; i++) {
		const struct __dsu_patch_ref *r = &patch->refs[i];
		void *addr = NULL;

		switch (r->kind) {
		case DSU_REF_FUNC: {
			struct __dsu_func_desc *d = dsu_core_find_func(core, r->tu, r->name);

			addr = d ? d->stub : NULL;
			break;
		}
		case DSU_REF_VAR: {
			struct __dsu_var_desc *d = dsu_core_find_var(core, r->tu, r->name);

			addr = d ? d->addr : NULL;
			break;
		}
		case DSU_REF_SYMBOL:
			addr = env->find_symbol(r->name);
			break;
		case DSU_REF_TYPE:
			addr = dsu_registry_find_type(env->registry, r->tu, r->name);
			break;
		default:
			return fail("patch %s: reference %u has unknown kind %u", patch->name, i,
				    r->kind);
		}
		if (!addr && r->kind == DSU_REF_SYMBOL)
			return fail("patch %s needs symbol %s, which the running program "
				    "does not have", patch->name, r->name);
		if (!addr)
			return fail("patch %s needs %s %s:%s, which the running program does not "
				    "register", patch->name,
				    r->kind == DSU_REF_FUNC ? "function" :
				    r->kind == DSU_REF_VAR ? "static variable" : "wrapped type", r->tu,
				    r->name);
		*r->slot = addr;
	}
	return 0;
}

int dsu_core_prepare(struct dsu_core *core, const struct __dsu_patch *patch,
		     struct dsu_applied **out, char *err, unsigned long errlen)
{
	const struct dsu_env *env = core->env;
	struct dsu_applied *a;
	unsigned int i;

	*out = NULL;
	/* Nothing else of a patch from another ABI can be trusted. */
	if (patch->abi != DSU_ABI_VERSION)
		return fail("patch has DSU ABI %u, the runtime has %u", patch->abi, DSU_ABI_VERSION);
	if (check_tables(patch, err, errlen) || check_base(core, patch, err, errlen))
		return -1;

	a = env->zalloc(sizeof(*a));
	if (!a)
		return fail("out of memory");
	a->patch = patch;
	a->level = core->depth + 1;
	a->nfuncs = patch->nfuncs;
	a->ntypes = patch->ntypes;
	if ((patch->nfuncs && !(a->funcs = env->zalloc(sizeof(*a->funcs) * patch->nfuncs))) ||
	    (patch->ntypes && !(a->types = env->zalloc(sizeof(*a->types) * patch->ntypes)))) {
		dsu_core_discard(core, a);
		return fail("out of memory");
	}
	if (resolve_funcs(core, a, err, errlen))
		goto refused;
	for (i = 0; i < patch->ntypes; i++)
		if (resolve_type(core, a, i, err, errlen))
			goto refused;
	if (resolve_refs(core, patch, err, errlen))
		goto refused;
	*out = a;
	return 0;
refused:
	dsu_core_discard(core, a);
	return -1;
}

unsigned int dsu_core_apply_code(const struct dsu_applied *a, void **fns, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < a->nfuncs && n < max; i++)
		fns[n++] = *a->funcs[i].desc->ptr;
	return n;
}

void dsu_core_commit(struct dsu_core *core, struct dsu_applied *a)
{
	unsigned int i;

	for (i = 0; i < a->nfuncs; i++) {
		struct dsu_applied_func *f = &a->funcs[i];

		f->old_fn = *f->desc->ptr;
		f->old_version = f->desc->version;
	}
	for (i = 0; i < a->nfuncs; i++) {
		struct dsu_applied_func *f = &a->funcs[i];

		*(void *volatile *)f->desc->ptr = f->new_fn;
		f->desc->version = a->level;
	}
	a->below = core->top;
	/* The type slow path walks the stack without a lock: publish the
	 * patch (its transformers) before the versions that need them. */
	__atomic_store_n(&core->top, a, __ATOMIC_RELEASE);
	core->depth++;
	for (i = 0; i < a->ntypes; i++) {
		struct dsu_applied_type *t = &a->types[i];

		t->old_version = t->desc->version_now;
		__atomic_store_n(&t->desc->version_now, t->update->version, __ATOMIC_RELEASE);
	}
}

void dsu_core_discard(struct dsu_core *core, struct dsu_applied *a)
{
	if (!a)
		return;
	if (a->funcs)
		core->env->free(a->funcs);
	if (a->types)
		core->env->free(a->types);
	core->env->free(a);
}

unsigned int dsu_core_revert_code(const struct dsu_core *core, void **fns, unsigned int max)
{
	const struct dsu_applied *a = core->top;
	unsigned int i, n = 0;

	if (!a)
		return 0;
	for (i = 0; i < a->nfuncs && n < max; i++)
		fns[n++] = a->funcs[i].new_fn;
	for (i = 0; i < a->patch->nnew_funcs && n < max; i++)
		fns[n++] = *a->patch->new_funcs[i]->ptr;
	return n;
}

int dsu_core_revert_check(const struct dsu_core *core, char *err, unsigned long errlen)
{
	const struct dsu_applied *a = core->top;

	if (!a)
		return fail("no patch is applied");
	/* Transformers only run forward: instances may be in the new layout. */
	if (a->ntypes)
		return fail("patch %s changed the layout of %s (%s); instances may be in the new "
			    "layout already, so it cannot be reverted", a->patch->name,
			    a->types[0].update->name, a->types[0].update->tu);
	return 0;
}

struct dsu_applied *dsu_core_revert_commit(struct dsu_core *core)
{
	struct dsu_applied *a = core->top;
	unsigned int i;

	if (!a)
		return NULL;
	/* In reverse: a function replaced twice (not allowed) would still end right. */
	for (i = a->nfuncs; i-- > 0;) {
		struct dsu_applied_func *f = &a->funcs[i];

		*(void *volatile *)f->desc->ptr = f->old_fn;
		f->desc->version = f->old_version;
	}
	core->top = a->below;
	core->depth--;
	a->below = NULL;
	return a;
}

/* The transformer bringing `type` from version - 1 to version. */
static const struct __dsu_patch_type *type_step(const struct dsu_core *core,
						const struct __dsu_type_desc *type,
						unsigned int version)
{
	const struct dsu_applied *a;
	unsigned int i;

	for (a = __atomic_load_n(&core->top, __ATOMIC_ACQUIRE); a; a = a->below)
		for (i = 0; i < a->ntypes; i++)
			if (a->types[i].desc == type && a->types[i].update->version == version)
				return a->types[i].update;
	return NULL;
}

int dsu_core_type_slow(const struct dsu_core *core, struct __dsu_type_desc *type, void *obj,
		       unsigned int expected, char *err, unsigned long errlen)
{
	unsigned int *vp = obj, *tagp = vp + 1;
	unsigned char *data = (unsigned char *)obj + type->data_offset;
	unsigned char small[512], *buf;
	const unsigned char *from;
	unsigned long i;
	unsigned int now, seen, v;

	for (;;) {
		now = __atomic_load_n(&type->version_now, __ATOMIC_ACQUIRE);
		seen = __atomic_load_n(vp, __ATOMIC_ACQUIRE);
		if (expected != now)
			return fail("%s (%s): code built for version %u ran after the update to "
				    "version %u", type->name, type->tu, expected, now);
		if ((seen & ~DSU_TYPE_VERSION_MASK) != DSU_TYPE_MAGIC ||
		    __atomic_load_n(tagp, __ATOMIC_ACQUIRE) != type->tag) {
			/* Zeroed or fresh: all-zero is zero in any layout, fresh
			 * memory is written through the accessor before it is
			 * read. Fresh memory may hold anything, the magic too
			 * (a freed instance of another type): the tag says whose.
			 * The tag is stored after the version, so a thread that
			 * sees it sees the version too (see "newer" below). */
			if (__atomic_compare_exchange_n(vp, &seen, DSU_TYPE_MAGIC | now, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				__atomic_store_n(tagp, type->tag, __ATOMIC_RELEASE);
				return 0;
			}
			continue;
		}
		if (seen == DSU_TYPE_BUSY) {
			if (core->env && core->env->relax)
				core->env->relax();
			continue;
		}
		v = seen & DSU_TYPE_VERSION_MASK;
		if (v == now)
			return 0;
		/* Another thread may have marked fresh memory between our
		 * loads of the version and of the tag: look again. */
		if (v > now && __atomic_load_n(vp, __ATOMIC_ACQUIRE) != seen)
			continue;
		if (v > now)
			return fail("%s (%s): an instance is in version %u, newer than the "
				    "running version %u", type->name, type->tu, v, now);
		if (__atomic_compare_exchange_n(vp, &seen, DSU_TYPE_BUSY, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	/*
	 * The new representation is built aside (two buffers: the steps of a
	 * chain alternate between them) and written back only where its bytes
	 * differ. A field that keeps its place and value is never written, so
	 * code that reaches it through an interior pointer (a lock, a list
	 * head another unit knows only by its own type) is not disturbed.
	 */
	buf = 2 * type->data_size <= sizeof(small) ? small :
						     core->env->zalloc_atomic(2 * type->data_size);
	if (!buf) {
		__atomic_store_n(vp, seen, __ATOMIC_RELEASE);
		return fail("%s (%s): no memory to transform an instance", type->name, type->tu);
	}
	from = data;
	for (; v < now; v++) {
		const struct __dsu_patch_type *step = type_step(core, type, v + 1);
		unsigned char *to = from == buf ? buf + type->data_size : buf;

		if (!step) {
			/* Cannot happen: every version up to now was committed
			 * with its transformer, and patches with types stay. */
			__atomic_store_n(vp, seen, __ATOMIC_RELEASE);
			if (buf != small)
				core->env->free(buf);
			return fail("%s (%s): no transformer to version %u", type->name, type->tu,
				    v + 1);
		}
		memset(to, 0, type->data_size);
		step->transform(to, from);
		from = to;
	}
	for (i = 0; i < type->data_size; i++)
		if (data[i] != from[i])
			data[i] = from[i];
	if (buf != small)
		core->env->free(buf);
	__atomic_store_n(vp, DSU_TYPE_MAGIC | now, __ATOMIC_RELEASE);
	return 0;
}
