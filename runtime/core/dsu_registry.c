// SPDX-License-Identifier: GPL-2.0
/* The registry of a running base, shared by both runtimes: dsu_registry.h. */
#ifdef __KERNEL__
#include <linux/kernel.h>
#include <linux/string.h>
#else
#include <stdio.h>
#include <string.h>
#endif

#include "dsu_core.h"
#include "dsu_registry.h"

const char dsu_registry_unit_conflict[] = "(several builds of this unit)";

static int table_alloc(struct dsu_registry *reg, struct dsu_registry_table *t, unsigned int n)
{
	unsigned long size = 16;

	while (size < 2UL * n)
		size <<= 1;
	t->slots = reg->ops->zalloc_array(size, sizeof(*t->slots));
	if (!t->slots)
		return -1;
	t->mask = size - 1;
	return 0;
}

/* The slot holding (tu, name), or the free slot where it would go. */
static struct dsu_registry_slot *table_probe(const struct dsu_registry_table *t, unsigned int hash,
					     const char *tu, const char *name)
{
	unsigned int i;

	for (i = hash & t->mask;; i = (i + 1) & t->mask) {
		struct dsu_registry_slot *s = &t->slots[i];

		if (!s->tu)
			return s;
		if (s->hash == hash && !strcmp(s->tu, tu) && !strcmp(s->name, name))
			return s;
	}
}

/* Values compare by address, unless `str` (unit hashes: one string per unit). */
static void table_add(struct dsu_registry *reg, struct dsu_registry_table *t, const char *tu,
		      const char *name, void *val, int str)
{
	unsigned int hash = dsu_core_hash(tu, name);
	struct dsu_registry_slot *s = table_probe(t, hash, tu, name);
	char msg[256];

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
	s->dup = 1;
	t->dups++;
	snprintf(msg, sizeof(msg), "%s:%s is registered twice; patches cannot refer to it", tu,
		 *name ? name : "(unit hash)");
	reg->ops->warn(msg);
}

static void *table_find(const struct dsu_registry_table *t, const char *tu, const char *name)
{
	struct dsu_registry_slot *s;

	if (!t->slots || !tu || !name)
		return NULL;
	s = table_probe(t, dsu_core_hash(tu, name), tu, name);
	if (!s->tu || s->dup)
		return NULL;
	return s->val;
}

int dsu_registry_init(struct dsu_registry *reg, const struct dsu_registry_ops *ops,
		      unsigned int nfuncs, unsigned int nvars, unsigned int ntypes)
{
	memset(reg, 0, sizeof(*reg));
	reg->ops = ops;
	if (table_alloc(reg, &reg->funcs, nfuncs) || table_alloc(reg, &reg->vars, nvars) ||
	    table_alloc(reg, &reg->types, ntypes) ||
	    table_alloc(reg, &reg->units, nfuncs + nvars + ntypes)) {
		dsu_registry_release(reg);
		return -1;
	}
	return 0;
}

void dsu_registry_release(struct dsu_registry *reg)
{
	const struct dsu_registry_ops *ops = reg->ops;

	if (ops) {
		ops->free(reg->funcs.slots);
		ops->free(reg->vars.slots);
		ops->free(reg->types.slots);
		ops->free(reg->units.slots);
	}
	memset(reg, 0, sizeof(*reg));
	reg->ops = ops;
}

/* Every descriptor names its unit and the hash that unit was built with. */
static int add_unit(struct dsu_registry *reg, const char *tu, const char *unit_hash)
{
	table_add(reg, &reg->units, tu, "", (void *)unit_hash, 1);
	return 1;
}

int dsu_registry_add_func(struct dsu_registry *reg, struct __dsu_func_desc *d)
{
	if (d->abi != DSU_ABI_VERSION || !d->name || !d->tu || !d->ptr || !d->body || !d->stub ||
	    !d->unit_hash) {
		reg->skipped++;
		return 0;
	}
	table_add(reg, &reg->funcs, d->tu, d->name, d, 0);
	return add_unit(reg, d->tu, d->unit_hash);
}

int dsu_registry_add_var(struct dsu_registry *reg, struct __dsu_var_desc *d)
{
	if (d->abi != DSU_ABI_VERSION || !d->name || !d->tu || !d->addr || !d->unit_hash) {
		reg->skipped++;
		return 0;
	}
	table_add(reg, &reg->vars, d->tu, d->name, d, 0);
	return add_unit(reg, d->tu, d->unit_hash);
}

int dsu_registry_add_type(struct dsu_registry *reg, struct __dsu_type_desc *d)
{
	if (d->abi != DSU_ABI_VERSION || !d->name || !d->tu || !d->unit_hash ||
	    d->data_offset + d->data_size > d->size) {
		reg->skipped++;
		return 0;
	}
	table_add(reg, &reg->types, d->tu, d->name, d, 0);
	return add_unit(reg, d->tu, d->unit_hash);
}

struct __dsu_func_desc *dsu_registry_find_func(const struct dsu_registry *reg, const char *tu,
					       const char *name)
{
	return table_find(&reg->funcs, tu, name);
}

struct __dsu_var_desc *dsu_registry_find_var(const struct dsu_registry *reg, const char *tu,
					     const char *name)
{
	return table_find(&reg->vars, tu, name);
}

struct __dsu_type_desc *dsu_registry_find_type(const struct dsu_registry *reg, const char *tu,
					       const char *name)
{
	return table_find(&reg->types, tu, name);
}

const char *dsu_registry_unit_hash(const struct dsu_registry *reg, const char *tu)
{
	struct dsu_registry_slot *s;

	if (!reg->units.slots || !tu)
		return NULL;
	s = table_probe(&reg->units, dsu_core_hash(tu, ""), tu, "");
	if (!s->tu)
		return NULL;
	/* Not NULL: the core would then say the base lacks the unit. */
	return s->dup ? dsu_registry_unit_conflict : s->val;
}

unsigned int dsu_registry_ambiguous(const struct dsu_registry *reg)
{
	return reg->funcs.dups + reg->vars.dups + reg->types.dups + reg->units.dups;
}
