// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of the running program (internal.h): every updateable
 * function, registered static variable and wrapped type the linker gathered
 * into the sections __dsu_funcs, __dsu_vars and __dsu_types, added to the
 * registry both runtimes share (runtime/core/dsu_registry.h), and the rest of
 * the core's environment (symbols, memory) for user space.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Provided by the linker when the program has descriptors. */
extern struct __dsu_func_desc __start___dsu_funcs[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_func_desc __stop___dsu_funcs[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_var_desc __start___dsu_vars[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_var_desc __stop___dsu_vars[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_type_desc __start___dsu_types[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_type_desc __stop___dsu_types[] __attribute__((weak, visibility("hidden")));

DSU_HIDDEN struct dsu_registry dsu_user_registry;

static void *registry_zalloc_array(unsigned long n, unsigned long size)
{
	return calloc(n, size);
}

static void registry_warn(const char *msg)
{
	fprintf(stderr, "dsu: %s\n", msg);
}

static const struct dsu_registry_ops registry_ops = {
	.zalloc_array = registry_zalloc_array,
	.free = free,
	.warn = registry_warn,
};

/* Out of memory leaves an empty registry: every patch is then refused as
 * not fitting, and the program runs on. */
void dsu_user_registry_build(void)
{
	static int built;
	struct __dsu_func_desc *f;
	struct __dsu_var_desc *v;
	struct __dsu_type_desc *t;
	unsigned int nf = 0, nv = 0, nt = 0;

	if (built)
		return;
	built = 1;
	if (__start___dsu_funcs)
		nf = __stop___dsu_funcs - __start___dsu_funcs;
	if (__start___dsu_vars)
		nv = __stop___dsu_vars - __start___dsu_vars;
	if (__start___dsu_types)
		nt = __stop___dsu_types - __start___dsu_types;
	if (dsu_registry_init(&dsu_user_registry, &registry_ops, nf, nv, nt)) {
		registry_warn("registry: out of memory; patches cannot be applied");
		return;
	}
	for (f = __start___dsu_funcs; f && f < __stop___dsu_funcs; f++)
		dsu_registry_add_func(&dsu_user_registry, f);
	for (v = __start___dsu_vars; v && v < __stop___dsu_vars; v++)
		dsu_registry_add_var(&dsu_user_registry, v);
	for (t = __start___dsu_types; t && t < __stop___dsu_types; t++)
		dsu_registry_add_type(&dsu_user_registry, t);
}

static void *env_find_symbol(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
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
	.registry = &dsu_user_registry,
	.find_symbol = env_find_symbol,
	.zalloc = env_zalloc,
	.free = free,
	.zalloc_atomic = env_zalloc,
	.relax = env_relax,
};
