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

#define fail(...) (snprintf(err, errlen, __VA_ARGS__), -1)

void dsu_core_init(struct dsu_core *core, const struct dsu_env *env)
{
	core->env = env;
	core->top = NULL;
	core->depth = 0;
}

struct __dsu_func_desc *dsu_core_find_func(const struct dsu_core *core, const char *tu,
					   const char *name)
{
	const struct dsu_applied *a;
	unsigned int i;

	for (a = core->top; a; a = a->below)
		for (i = 0; i < a->patch->nnew_funcs; i++) {
			struct __dsu_func_desc *d = a->patch->new_funcs[i];

			if (!strcmp(d->name, name) && !strcmp(d->tu, tu))
				return d;
		}
	return core->env->find_func(tu, name);
}

struct __dsu_var_desc *dsu_core_find_var(const struct dsu_core *core, const char *tu,
					 const char *name)
{
	const struct dsu_applied *a;
	unsigned int i;

	for (a = core->top; a; a = a->below)
		for (i = 0; i < a->patch->nnew_vars; i++) {
			struct __dsu_var_desc *d = a->patch->new_vars[i];

			if (!strcmp(d->name, name) && !strcmp(d->tu, tu))
				return d;
		}
	return core->env->find_var(tu, name);
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

int dsu_core_prepare(struct dsu_core *core, const struct __dsu_patch *patch,
		     struct dsu_applied **out, char *err, unsigned long errlen)
{
	const struct dsu_env *env = core->env;
	struct dsu_applied *a;
	unsigned int i, j;

	*out = NULL;
	/* Nothing else of a patch from another ABI can be trusted. */
	if (patch->abi != DSU_ABI_VERSION)
		return fail("patch has DSU ABI %u, the runtime has %u", patch->abi, DSU_ABI_VERSION);
	if (!patch->name || !patch->parent || (patch->nunits && !patch->units) ||
	    (patch->nfuncs && !patch->funcs) || (patch->nrefs && !patch->refs) ||
	    (patch->nnew_funcs && !patch->new_funcs) || (patch->nnew_vars && !patch->new_vars))
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
	for (i = 0; i < patch->nfuncs; i++)
		if (!lists_unit(patch, patch->funcs[i].tu))
			return fail("patch %s replaces %s:%s but does not list unit %s among the "
				    "units it was built against", patch->name, patch->funcs[i].tu,
				    patch->funcs[i].name, patch->funcs[i].tu);
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
		const char *have = env->unit_hash(u->tu);

		if (!have)
			return fail("patch %s was built against unit %s, which the running "
				    "program does not have", patch->name, u->tu);
		if (strcmp(have, u->unit_hash))
			return fail("patch %s was built against another build of %s "
				    "(unit hash %.12s..., running %.12s...)", patch->name, u->tu,
				    u->unit_hash, have);
	}

	a = env->zalloc(sizeof(*a));
	if (!a)
		return fail("out of memory");
	a->patch = patch;
	a->level = core->depth + 1;
	a->nfuncs = patch->nfuncs;
	if (patch->nfuncs) {
		a->funcs = env->zalloc(sizeof(*a->funcs) * patch->nfuncs);
		if (!a->funcs) {
			env->free(a);
			return fail("out of memory");
		}
	}
	for (i = 0; i < patch->nfuncs; i++) {
		const struct __dsu_patch_func *f = &patch->funcs[i];
		struct __dsu_func_desc *d = dsu_core_find_func(core, f->tu, f->name);

		if (!d) {
			dsu_core_discard(core, a);
			return fail("patch %s replaces %s:%s, which is not an updateable function "
				    "of the running program", patch->name, f->tu, f->name);
		}
		if (d->abi != DSU_ABI_VERSION) {
			dsu_core_discard(core, a);
			return fail("%s:%s was built with DSU ABI %u, the runtime has %u", f->tu,
				    f->name, d->abi, DSU_ABI_VERSION);
		}
		for (j = 0; j < i; j++)
			if (a->funcs[j].desc == d) {
				dsu_core_discard(core, a);
				return fail("patch %s replaces %s:%s twice", patch->name, f->tu,
					    f->name);
			}
		a->funcs[i].desc = d;
		a->funcs[i].new_fn = f->fn;
	}
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
		default:
			dsu_core_discard(core, a);
			return fail("patch %s: reference %u has unknown kind %u", patch->name, i,
				    r->kind);
		}
		if (!addr) {
			dsu_core_discard(core, a);
			if (r->kind == DSU_REF_SYMBOL)
				return fail("patch %s needs symbol %s, which the running program "
					    "does not have", patch->name, r->name);
			return fail("patch %s needs %s %s:%s, which the running program does not "
				    "register", patch->name,
				    r->kind == DSU_REF_FUNC ? "function" : "static variable", r->tu,
				    r->name);
		}
		*r->slot = addr;
	}
	*out = a;
	return 0;
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
	core->top = a;
	core->depth++;
}

void dsu_core_discard(struct dsu_core *core, struct dsu_applied *a)
{
	if (!a)
		return;
	if (a->funcs)
		core->env->free(a->funcs);
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
