/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The update core shared by the user-space runtime (runtime/user/) and the
 * kernel runtime (runtime/kernel/): checking a patch against the running
 * base, resolving its references through the registry, the patch stack,
 * apply and revert. It is plain C that compiles in both worlds: everything
 * environment-specific (registry of the base, symbol lookup, memory, the
 * "is this code active on a stack" question) comes from struct dsu_env.
 *
 * Locking: the caller serializes all calls (one update at a time); commit
 * and revert_commit run with every other thread of the program (kernel: CPU)
 * stopped or at an update point.
 */
#ifndef DSU_CORE_H
#define DSU_CORE_H

#include "dsu/abi.h"

#ifndef DSU_CORE_ERRLEN
#define DSU_CORE_ERRLEN 256
#endif

struct dsu_registry;

struct dsu_env {
	/* The base's registry (dsu_registry.h): its functions, variables,
	 * wrapped types and the hash each unit was built with. */
	const struct dsu_registry *registry;
	/* A global symbol's address (DSU_REF_SYMBOL), NULL when unknown. */
	void *(*find_symbol)(const char *name);
	void *(*zalloc)(unsigned long size);
	void (*free)(void *p);
	/* For the type slow path, which may run where sleeping is not allowed. */
	void *(*zalloc_atomic)(unsigned long size);
	/* Lets another CPU (thread) finish transforming an instance. */
	void (*relax)(void);
};

struct dsu_applied_type {
	struct __dsu_type_desc *desc;
	const struct __dsu_patch_type *update;
	unsigned int old_version;
};

struct dsu_applied_func {
	struct __dsu_func_desc *desc;
	void *old_fn;          /* *desc->ptr before this patch */
	unsigned int old_version;
	void *new_fn;
};

/* A patch on the stack (or being prepared). */
struct dsu_applied {
	const struct __dsu_patch *patch;
	unsigned int level; /* 1 = first patch on the base */
	unsigned int nfuncs;
	struct dsu_applied_func *funcs;
	unsigned int ntypes;
	struct dsu_applied_type *types;
	struct dsu_applied *below;
	void *handle;       /* the back end's: dlopen handle, struct module */
	/* Figures, filled by the back end (nanoseconds). */
	unsigned long long prepare_ns, pause_ns, total_ns;
};

struct dsu_core {
	const struct dsu_env *env;
	struct dsu_applied *top; /* newest applied patch, NULL = base */
	unsigned int depth;
};

void dsu_core_init(struct dsu_core *core, const struct dsu_env *env);

/*
 * Checks `patch` against the running base and the stack (ABI, parent, every
 * unit's hash, every replaced function registered) and resolves all its
 * reference slots. Nothing of the program changes. Returns 0 and a prepared
 * patch in *out, or -1 with a message in err.
 */
int dsu_core_prepare(struct dsu_core *core, const struct __dsu_patch *patch,
		     struct dsu_applied **out, char *err, unsigned long errlen);

/*
 * The functions an apply must not find active: the code each replaced
 * function runs now. Fills at most max entries, returns the count.
 */
unsigned int dsu_core_apply_code(const struct dsu_applied *a, void **fns, unsigned int max);

/* Installs a prepared patch: pointers, versions, the stack. Cannot fail. */
void dsu_core_commit(struct dsu_core *core, struct dsu_applied *a);

/* Drops a prepared patch that was not committed. */
void dsu_core_discard(struct dsu_core *core, struct dsu_applied *a);

/*
 * The code a revert of the top patch must not find active: the patch's new
 * functions and the functions it added. Returns the count (0 when the stack
 * is empty).
 */
unsigned int dsu_core_revert_code(const struct dsu_core *core, void **fns, unsigned int max);

/* Whether the top patch can be reverted: 0, or -1 with the reason in err
 * (nothing applied; it changed the layout of a wrapped type). */
int dsu_core_revert_check(const struct dsu_core *core, char *err, unsigned long errlen);

/* Removes the top patch: restores pointers and versions. Returns it (the
 * caller releases its handle and calls dsu_core_discard), NULL if none. */
struct dsu_applied *dsu_core_revert_commit(struct dsu_core *core);

/* Registry lookups that see what applied patches added, newest first. */
struct __dsu_func_desc *dsu_core_find_func(const struct dsu_core *core, const char *tu,
					   const char *name);
struct __dsu_var_desc *dsu_core_find_var(const struct dsu_core *core, const char *tu,
					 const char *name);

/*
 * The slow path of __dsu_con_T (the back ends' __dsu_type_slow calls it):
 * brings the instance at obj (the wrapper) to type->version_now, marking
 * fresh memory and transforming older versions in place, one patch's
 * transformer at a time, exactly once however many threads get here.
 * Returns 0, or -1 with a message when code built for version `expected`
 * is not the current code for the type (stale code: an unsafe update), or
 * memory for the transform is not available.
 */
int dsu_core_type_slow(const struct dsu_core *core, struct __dsu_type_desc *type, void *obj,
		       unsigned int expected, char *err, unsigned long errlen);

/* FNV-1a over tu, a 0 byte and name: the registries' hash. */
static inline unsigned int dsu_core_hash(const char *tu, const char *name)
{
	unsigned int h = 2166136261u;
	const char *s;

	for (s = tu; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

#endif /* DSU_CORE_H */
