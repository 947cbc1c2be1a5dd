// SPDX-License-Identifier: GPL-2.0
/*
 * Apply and revert in user space (internal.h): a patch file is loaded as the
 * trust model allows (patch_file.c) and checked and resolved by the shared
 * core; it is installed at an update point when none of the code it changes
 * is active on the thread there (stack_check.c). The requests and the update
 * points that call these are dsu_user.c's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "dsu.h"

#include "internal.h"
#include "patch_file.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

DSU_HIDDEN struct dsu_core dsu_user_core;
static int core_ready;

void dsu_ensure_core(void)
{
	if (core_ready)
		return;
	dsu_user_registry_build();
	dsu_core_init(&dsu_user_core, &dsu_user_env);
	core_ready = 1;
}


/* Patches call the shadow data functions even where the program never
 * does; this reference links shadow.o out of libdsu-rt.a into every program. */
__attribute__((used)) static void *const linked_for_patches[] = {
	(void *)__dsu_shadow,
	(void *)__dsu_shadow_release,
};

DSU_PUBLIC unsigned int dsu_patch_level(void)
{
	return dsu_user_core.depth;
}

/*
 * The slow path of __dsu_con_T (the core does the work). Stale code reaching
 * an instance means an update was unsafe: the program's data can no longer
 * be trusted, so it stops here rather than corrupt it.
 */
DSU_PUBLIC void __dsu_type_slow(struct __dsu_type_desc *type, void *obj, unsigned int expected)
{
	char err[DSU_CORE_ERRLEN];

	if (!dsu_core_type_slow(&dsu_user_core, type, obj, expected, err, sizeof(err)))
		return;
	fprintf(stderr, "dsu: fatal: %s\n", err);
	abort();
}

/* The function (tu:name) behind the i-th entry of the apply/revert code list. */
static const char *code_name(struct dsu_applied *a, int i, int revert, char *buf, unsigned long len)
{
	if ((unsigned int)i < a->nfuncs) {
		struct __dsu_func_desc *d = a->funcs[i].desc;

		snprintf(buf, len, "%s (%s)%s", d->name, d->tu, revert ? ", new version" : "");
	} else {
		struct __dsu_func_desc *d = a->patch->new_funcs[i - a->nfuncs];

		snprintf(buf, len, "%s (%s), added by the patch", d->name, d->tu);
	}
	return buf;
}

/* Whether one of fns[0..n) (the code an apply or revert of `a` must not find
 * running) is active at this update point; says which in `why`. Frees fns. */
int dsu_code_busy(struct dsu_applied *a, void **fns, unsigned int n, int revert, char *why,
		unsigned long whylen)
{
	int active = dsu_first_active(fns, n);
	char name[256];

	free(fns);
	if (active < 0)
		return 0;
	dsu_say(why, whylen, "%s is active at this update point",
	    code_name(a, active, revert, name, sizeof(name)));
	return 1;
}

/* The loaded file of a prepared patch (a->handle) once the patch is
 * applied: mapped and open for good (patch_file.h). */
void dsu_keep_patch_file(struct dsu_applied *a)
{
	dsu_patch_file_keep(a->handle);
}

/* A prepared patch that was not applied: unloaded, then forgotten. */
void dsu_discard_unapplied(struct dsu_applied *a)
{
	struct dsu_patch_file *pf = a->handle;

	dsu_patch_file_unload(pf);
	free(pf);
	dsu_core_discard(&dsu_user_core, a);
}

/* 1 = applied, 0 = must wait (why in `why`). */
int dsu_try_apply(struct dsu_applied *a, char *msg, unsigned long len, char *why,
		     unsigned long whylen)
{
	void **fns = calloc(a->nfuncs + 1, sizeof(void *));
	unsigned int n = dsu_core_apply_code(a, fns, a->nfuncs);
	unsigned long long t0, t1;

	if (dsu_code_busy(a, fns, n, 0, why, whylen))
		return 0;
	t0 = dsu_now_ns();
	dsu_core_commit(&dsu_user_core, a);
	t1 = dsu_now_ns();
	a->pause_ns = t1 - t0;
	dsu_keep_patch_file(a);
	dsu_say(msg, len, "applied %s (level %u): %u function%s replaced, %u added; pause %.1f us; "
	    "prepare %.1f us", a->patch->name, a->level, a->nfuncs, a->nfuncs == 1 ? "" : "s",
	    a->patch->nnew_funcs, a->pause_ns / 1000.0, a->prepare_ns / 1000.0);
	return 1;
}

int dsu_try_revert(char *msg, unsigned long len, char *why, unsigned long whylen)
{
	struct dsu_applied *a = dsu_user_core.top;
	unsigned int max = a->nfuncs + a->patch->nnew_funcs + 1;
	void **fns = calloc(max, sizeof(void *));
	unsigned int n = dsu_core_revert_code(&dsu_user_core, fns, max);
	unsigned long long t0, t1;

	if (dsu_code_busy(a, fns, n, 1, why, whylen))
		return 0;
	t0 = dsu_now_ns();
	a = dsu_core_revert_commit(&dsu_user_core);
	t1 = dsu_now_ns();
	dsu_say(msg, len, "reverted %s (level %u); pause %.1f us; now at level %u", a->patch->name,
	    a->level, (t1 - t0) / 1000.0, dsu_user_core.depth);
	/* Nothing runs the patch's code any more (checked above), but the
	 * program's data may still point into it (a string, a callback the patch
	 * stored): the object stays mapped (keep_patch_file), only the record
	 * goes. */
	free(a->handle);
	dsu_core_discard(&dsu_user_core, a);
	return 1;
}

int dsu_prepare_file(const char *path, struct dsu_applied **out, char *msg, unsigned long len)
{
	const struct __dsu_patch *patch;
	unsigned long long t0 = dsu_now_ns();
	char err[DSU_CORE_ERRLEN];
	struct dsu_patch_file *pf = calloc(1, sizeof(*pf));

	*out = NULL;
	if (!pf) {
		dsu_say(msg, len, "no memory to load %s", path);
		return -1;
	}
	if (dsu_patch_file_load(path, pf, msg, len)) {
		free(pf);
		return -1;
	}
	patch = dlsym(pf->handle, DSU_PATCH_SYMBOL);
	if (!patch) {
		dsu_say(msg, len, "%s is not a DSU patch (no symbol " DSU_PATCH_SYMBOL ")", path);
		goto refused;
	}
	dsu_ensure_core();
	if (dsu_core_prepare(&dsu_user_core, patch, out, err, sizeof(err))) {
		dsu_say(msg, len, "%s", err);
		goto refused;
	}
	(*out)->handle = pf;
	(*out)->prepare_ns = dsu_now_ns() - t0;
	return 0;
refused:
	dsu_patch_file_unload(pf);
	free(pf);
	return -1;
}
