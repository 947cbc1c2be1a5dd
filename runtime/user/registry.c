// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of the running program (internal.h): every updateable
 * function, registered static variable and wrapped type the linker gathered
 * into the sections __dsu_funcs, __dsu_vars and __dsu_types, found by
 * (translation unit, name) when a patch's references are resolved.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* Provided by the linker when the program has descriptors. */
extern struct __dsu_func_desc __start___dsu_funcs[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_func_desc __stop___dsu_funcs[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_var_desc __start___dsu_vars[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_var_desc __stop___dsu_vars[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_type_desc __start___dsu_types[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_type_desc __stop___dsu_types[] __attribute__((weak, visibility("hidden")));

struct slot {
	unsigned int hash;
	void *desc;
};

struct table {
	struct slot *slots;
	unsigned int mask;
};

static struct table funcs_by_name, vars_by_name;
static struct { const char *tu, *hash; } *units;
static unsigned int nunits, nfuncs_registered, nvars_registered;
static int registry_built;

static void table_init(struct table *t, unsigned int count)
{
	unsigned int size = 16;

	while (size < count * 2)
		size <<= 1;
	t->slots = calloc(size, sizeof(*t->slots));
	t->mask = t->slots ? size - 1 : 0;
}

static void table_put(struct table *t, unsigned int hash, void *desc)
{
	unsigned int i;

	if (!t->slots)
		return;
	for (i = hash & t->mask; t->slots[i].desc; i = (i + 1) & t->mask)
		;
	t->slots[i].hash = hash;
	t->slots[i].desc = desc;
}

static void add_unit(const char *tu, const char *hash)
{
	unsigned int i;

	for (i = 0; i < nunits; i++)
		if (!strcmp(units[i].tu, tu))
			return;
	units = realloc(units, sizeof(*units) * (nunits + 1));
	units[nunits].tu = tu;
	units[nunits].hash = hash;
	nunits++;
}

void dsu_registry_build(void)
{
	struct __dsu_func_desc *f;
	struct __dsu_var_desc *v;
	unsigned int nf = 0, nv = 0;

	if (registry_built)
		return;
	registry_built = 1;
	if (__start___dsu_funcs)
		nf = __stop___dsu_funcs - __start___dsu_funcs;
	if (__start___dsu_vars)
		nv = __stop___dsu_vars - __start___dsu_vars;
	table_init(&funcs_by_name, nf);
	table_init(&vars_by_name, nv);
	for (f = __start___dsu_funcs; f && f < __stop___dsu_funcs; f++) {
		if (f->abi != DSU_ABI_VERSION)
			continue;
		table_put(&funcs_by_name, dsu_core_hash(f->tu, f->name), f);
		add_unit(f->tu, f->unit_hash);
		nfuncs_registered++;
	}
	for (v = __start___dsu_vars; v && v < __stop___dsu_vars; v++) {
		if (v->abi != DSU_ABI_VERSION)
			continue;
		table_put(&vars_by_name, dsu_core_hash(v->tu, v->name), v);
		add_unit(v->tu, v->unit_hash);
		nvars_registered++;
	}
}

/* Open addressing, keyed by dsu_core_hash(tu, name). */
static void *table_find(const struct table *t, const char *tu, const char *name, int vars)
{
	unsigned int h = dsu_core_hash(tu, name), i;

	if (!t->slots)
		return NULL;
	for (i = h & t->mask; t->slots[i].desc; i = (i + 1) & t->mask) {
		void *d = t->slots[i].desc;
		const char *dn = vars ? ((struct __dsu_var_desc *)d)->name : ((struct __dsu_func_desc *)d)->name;
		const char *dt = vars ? ((struct __dsu_var_desc *)d)->tu : ((struct __dsu_func_desc *)d)->tu;

		if (t->slots[i].hash == h && !strcmp(dn, name) && !strcmp(dt, tu))
			return d;
	}
	return NULL;
}

static struct __dsu_func_desc *env_find_func(const char *tu, const char *name)
{
	return table_find(&funcs_by_name, tu, name, 0);
}

static struct __dsu_var_desc *env_find_var(const char *tu, const char *name)
{
	return table_find(&vars_by_name, tu, name, 1);
}

static const char *env_unit_hash(const char *tu)
{
	unsigned int i;

	for (i = 0; i < nunits; i++)
		if (!strcmp(units[i].tu, tu))
			return units[i].hash;
	return NULL;
}

static void *env_find_symbol(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

/* Few types are wrapped: a linear search over the section. */
static struct __dsu_type_desc *env_find_type(const char *tu, const char *name)
{
	struct __dsu_type_desc *t;

	for (t = __start___dsu_types; t && t < __stop___dsu_types; t++)
		if (t->abi == DSU_ABI_VERSION && !strcmp(t->name, name) && !strcmp(t->tu, tu))
			return t;
	return NULL;
}

static void *env_zalloc(unsigned long size)
{
	return calloc(1, size);
}

static void env_relax(void)
{
	__builtin_ia32_pause();
}

const struct dsu_env dsu_user_env = {
	.find_func = env_find_func,
	.find_var = env_find_var,
	.unit_hash = env_unit_hash,
	.find_symbol = env_find_symbol,
	.find_type = env_find_type,
	.zalloc = env_zalloc,
	.free = free,
	.zalloc_atomic = env_zalloc,
	.relax = env_relax,
};

struct dsu_registry_counts dsu_registry_counts(void)
{
	struct dsu_registry_counts c = { nfuncs_registered, nvars_registered, nunits };

	return c;
}
