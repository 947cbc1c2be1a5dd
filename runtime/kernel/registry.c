// SPDX-License-Identifier: GPL-2.0
/*
 * vmlinux's registry: every struct __dsu_func_desc / __dsu_var_desc /
 * __dsu_type_desc dsu-cc put into the kernel, found through kallsyms by name
 * (they live in plain .data, see dsu/abi.h) and kept in the registry both
 * runtimes share (runtime/core/dsu_registry.h); and the rest of the core's
 * environment (symbols, memory) for the kernel.
 */
#include "internal.h"

struct dsu_kernel_registry dsu_kreg;

static void *dsu_registry_zalloc_array(unsigned long n, unsigned long size)
{
	return kvcalloc(n, size, GFP_KERNEL);
}

static void dsu_registry_free(void *p)
{
	kvfree(p);
}

static void dsu_registry_warn(const char *msg)
{
	pr_warn("%s\n", msg);
}

static const struct dsu_registry_ops dsu_registry_ops = {
	.zalloc_array = dsu_registry_zalloc_array,
	.free = dsu_registry_free,
	.warn = dsu_registry_warn,
};

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
	if (dsu_array_reserve((void **)&a->v, a->n, &a->cap, sizeof(*a->v), 4096))
		return -ENOMEM;
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
 * descriptors are. The registry checks the fields.
 */
static void *dsu_in_data(unsigned long addr, size_t size)
{
	if (!IS_ALIGNED(addr, sizeof(void *)) || !is_kernel_core_data(addr) ||
	    !is_kernel_core_data(addr + size - 1)) {
		dsu_kreg.reg.skipped++;
		return NULL;
	}
	return (void *)addr;
}

int __init dsu_kernel_registry_build(void)
{
	struct dsu_registry *reg = &dsu_kreg.reg;
	struct dsu_collect c = {};
	struct __dsu_func_desc *f;
	struct __dsu_var_desc *v;
	struct __dsu_type_desc *t;
	unsigned int i;
	u64 t0 = ktime_get_ns();
	int ret;

	ret = kallsyms_on_each_symbol(dsu_collect_sym, &c);
	if (ret)
		goto out;
	ret = -ENOMEM;
	if (dsu_registry_init(reg, &dsu_registry_ops, c.funcs.n, c.vars.n, c.types.n))
		goto out;
	for (i = 0; i < c.funcs.n; i++)
		if ((f = dsu_in_data(c.funcs.v[i], sizeof(*f))))
			dsu_registry_add_func(reg, f);
	for (i = 0; i < c.vars.n; i++)
		if ((v = dsu_in_data(c.vars.v[i], sizeof(*v))))
			dsu_registry_add_var(reg, v);
	for (i = 0; i < c.types.n; i++)
		if ((t = dsu_in_data(c.types.v[i], sizeof(*t))))
			dsu_registry_add_type(reg, t);
	dsu_kreg.build_ns = ktime_get_ns() - t0;
	dsu_kreg.ready = true;
	ret = 0;
	pr_info("registry: %u functions, %u variables, %u wrapped types, %u units in %llu.%03llu ms (%u descriptors skipped, %u names ambiguous)\n",
		reg->funcs.count, reg->vars.count, reg->types.count, reg->units.count,
		dsu_kreg.build_ns / NSEC_PER_MSEC, dsu_kreg.build_ns % NSEC_PER_MSEC / NSEC_PER_USEC,
		reg->skipped, dsu_registry_ambiguous(reg));
out:
	kvfree(c.funcs.v);
	kvfree(c.vars.v);
	kvfree(c.types.v);
	if (ret) {
		dsu_registry_release(reg);
		memset(&dsu_kreg, 0, sizeof(dsu_kreg));
		pr_err("registry: not built (%d); patches cannot be applied\n", ret);
	}
	return ret;
}

/* struct dsu_env */

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

const struct dsu_env dsu_env = {
	.registry = &dsu_kreg.reg,
	.find_symbol = dsu_env_find_symbol,
	.zalloc = dsu_env_zalloc,
	.free = dsu_env_free,
	.zalloc_atomic = dsu_env_zalloc_atomic,
	.relax = dsu_env_relax,
};
