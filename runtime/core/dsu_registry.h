/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The registry of a running base, shared by both runtimes: every updateable
 * function, registered static variable and wrapped type dsu-cc emitted a
 * descriptor for, found by (translation unit, name), and the hash each unit
 * was built with. The back end finds the descriptors (user space: the linker
 * sections __dsu_funcs/__dsu_vars/__dsu_types; kernel: kallsyms) and adds
 * them; the registry checks each one and answers struct dsu_env's lookups.
 *
 * Open addressing, linear probing, load factor at most 1/2. Built once and
 * only read afterwards, so there is no deletion and no locking of its own.
 *
 * A (tu, name) registered twice with different descriptors (two builds of
 * one unit linked into one base) is never answered: a patch could not say
 * which one it means. A unit whose descriptors disagree on its hash answers
 * dsu_registry_unit_conflict, which no patch's unit hash matches.
 */
#ifndef DSU_REGISTRY_H
#define DSU_REGISTRY_H

#include "dsu/abi.h"

struct dsu_registry_ops {
	/* n zeroed elements of size bytes, NULL when out of memory. */
	void *(*zalloc_array)(unsigned long n, unsigned long size);
	void (*free)(void *p);
	/* One line for the log, without the newline. */
	void (*warn)(const char *msg);
};

struct dsu_registry_slot {
	const char *tu;		/* NULL: a free slot */
	const char *name;	/* "" in the unit table */
	void *val;		/* the descriptor, or the unit's hash string */
	unsigned int hash;
	unsigned char dup;	/* registered twice, differently: never answered */
};

struct dsu_registry_table {
	struct dsu_registry_slot *slots;
	unsigned int mask;
	unsigned int count;	/* distinct keys */
	unsigned int dups;	/* keys seen again with another value */
};

struct dsu_registry {
	const struct dsu_registry_ops *ops;
	struct dsu_registry_table funcs, vars, types, units;
	unsigned int skipped;	/* other ABI, malformed, or refused by the back end */
};

/* What dsu_registry_unit_hash() answers for a unit built more than once. */
extern const char dsu_registry_unit_conflict[];

/*
 * Sizes the tables for at most nfuncs/nvars/ntypes descriptors. 0, or -1
 * when out of memory (then nothing stays allocated).
 */
int dsu_registry_init(struct dsu_registry *reg, const struct dsu_registry_ops *ops,
		      unsigned int nfuncs, unsigned int nvars, unsigned int ntypes);
void dsu_registry_release(struct dsu_registry *reg);

/*
 * Adds a descriptor the back end found. One of another ABI version or with
 * a field missing is skipped and counted. Returns 1 when added, 0 when not.
 */
int dsu_registry_add_func(struct dsu_registry *reg, struct __dsu_func_desc *d);
int dsu_registry_add_var(struct dsu_registry *reg, struct __dsu_var_desc *d);
int dsu_registry_add_type(struct dsu_registry *reg, struct __dsu_type_desc *d);

/* NULL when (tu, name) is not registered, or registered twice. */
struct __dsu_func_desc *dsu_registry_find_func(const struct dsu_registry *reg, const char *tu,
					       const char *name);
struct __dsu_var_desc *dsu_registry_find_var(const struct dsu_registry *reg, const char *tu,
					     const char *name);
struct __dsu_type_desc *dsu_registry_find_type(const struct dsu_registry *reg, const char *tu,
					       const char *name);
/* The unit's hash, dsu_registry_unit_conflict, or NULL for an unknown unit. */
const char *dsu_registry_unit_hash(const struct dsu_registry *reg, const char *tu);

/* Names registered twice, in all tables. */
unsigned int dsu_registry_ambiguous(const struct dsu_registry *reg);

#endif /* DSU_REGISTRY_H */
