// SPDX-License-Identifier: GPL-2.0
/*
 * Apply and revert (dsu_kernel.h): the core checks and resolves a patch
 * (runtime/core/dsu_core.c), the transition (transition.c) installs it
 * while no stack stops it; and the slow path of wrapped types.
 */
#include "internal.h"

/*
 * Version consistency of system calls (docs/safety.md): refuse while a task
 * is inside a system call that already ran code of the change set and may
 * run more. Off by default: with today's effects (indirect calls resolved by
 * type and struct field) a shell blocked in wait4() "may" run nearly any
 * library function before and after its sleep, so no patch of common code
 * would ever apply. The type rules (old code about to use a changed layout)
 * are always enforced. dsu.consistency= / /sys/module/dsu/parameters/consistency.
 */
static bool dsu_consistency;
module_param_named(consistency, dsu_consistency, bool, 0644);
MODULE_PARM_DESC(consistency, "refuse while a system call has run and may still run changed code");

DEFINE_MUTEX(dsu_mutex);
DEFINE_MUTEX(dsu_state_mutex);
char dsu_pending[384];
struct dsu_core dsu_core;

int dsu_apply(const struct __dsu_patch *patch, struct module *owner)
{
	static char err[DSU_CORE_ERRLEN];
	struct dsu_stop s = {};
	struct dsu_applied *a;
	struct dsu_range *ranges = NULL;
	struct dsu_frames *frames = NULL;
	void **fns = NULL;
	unsigned int n;
	u64 t0 = ktime_get_ns();
	int ret;

	if (!patch)
		return -EINVAL;
	mutex_lock(&dsu_mutex);
	if (!dsu_kreg.ready) {
		pr_err("apply %s: no registry (see the boot log); nothing changed\n", patch->name);
		ret = -ENOENT;
		goto out;
	}
	if (dsu_core_prepare(&dsu_core, patch, &a, err, sizeof(err))) {
		pr_err("apply: %s; nothing changed\n", err);
		ret = -EINVAL;
		goto out;
	}
	a->prepare_ns = ktime_get_ns() - t0;
	/* The patch's code and data live in owner: it must stay while applied. */
	if (!try_module_get(owner)) {
		pr_err("apply %s: its module is being unloaded; nothing changed\n", patch->name);
		ret = -ENOENT;
		goto discard;
	}
	a->handle = owner;

	s.apply = a;
	if (patch->analysed) {
		/*
		 * The analysis's frame rules are the whole truth: replaced code
		 * may stay active where they allow it (it finishes as old code).
		 */
		s.frames = frames = dsu_frames_build(patch, &ret);
		s.consistency = READ_ONCE(dsu_consistency);
		if (ret)
			goto put;
	} else {
		ret = -ENOMEM;
		fns = kcalloc(max(a->nfuncs, 1U), sizeof(*fns), GFP_KERNEL);
		if (!fns)
			goto put;
		n = dsu_core_apply_code(a, fns, a->nfuncs);
		ranges = dsu_ranges_alloc(fns, n, &ret);
		if (!ranges)
			goto put;
		s.ranges = ranges;
		s.nranges = n;
	}
	ret = dsu_stop_retry(&s, "apply", patch->name);
	if (ret)
		goto put;
	mutex_lock(&dsu_state_mutex); /* /proc/dsu shows them */
	a->pause_ns = s.pause_ns;
	a->total_ns = ktime_get_ns() - t0;
	mutex_unlock(&dsu_state_mutex);
	pr_info("applied %s (level %u, %u functions%s): pause %llu.%03llu us (%u stacks; stop_machine %llu us), total %llu us\n",
		patch->name, a->level, a->nfuncs,
		patch->analysed ? ", safety analysed" : "", a->pause_ns / NSEC_PER_USEC,
		a->pause_ns % NSEC_PER_USEC, s.ntasks, s.stop_ns / NSEC_PER_USEC,
		a->total_ns / NSEC_PER_USEC);
	goto out;
put:
	module_put(owner);
discard:
	dsu_core_discard(&dsu_core, a);
out:
	mutex_unlock(&dsu_mutex);
	dsu_frames_free(frames);
	kfree(ranges);
	kfree(fns);
	return ret;
}
EXPORT_SYMBOL_GPL(dsu_apply);

int dsu_revert(void)
{
	static char errbuf[DSU_CORE_ERRLEN]; /* under dsu_mutex */
	struct dsu_stop s = {};
	struct dsu_applied *top, *a;
	struct dsu_range *ranges = NULL;
	void **fns = NULL;
	unsigned int n, cap;
	u64 t0 = ktime_get_ns(), total;
	int ret;

	mutex_lock(&dsu_mutex);
	top = dsu_core.top;
	if (dsu_core_revert_check(&dsu_core, errbuf, sizeof(errbuf))) {
		pr_err("revert: %s\n", errbuf);
		ret = top ? -EPERM : -ENOENT;
		goto out;
	}
	cap = top->nfuncs + top->patch->nnew_funcs;
	ret = -ENOMEM;
	fns = kcalloc(max(cap, 1U), sizeof(*fns), GFP_KERNEL);
	if (!fns)
		goto out;
	n = dsu_core_revert_code(&dsu_core, fns, cap);
	ranges = dsu_ranges_alloc(fns, n, &ret);
	if (!ranges)
		goto out;
	s.ranges = ranges;
	s.nranges = n;
	ret = dsu_stop_retry(&s, "revert", top->patch->name);
	if (ret)
		goto out;
	a = s.reverted;
	total = ktime_get_ns() - t0;
	pr_info("reverted %s (level %u): pause %llu.%03llu us (%u stacks; stop_machine %llu us), total %llu us\n",
		a->patch->name, a->level, s.pause_ns / NSEC_PER_USEC, s.pause_ns % NSEC_PER_USEC,
		s.ntasks, s.stop_ns / NSEC_PER_USEC, total / NSEC_PER_USEC);
	/* Nothing runs or points into the patch any more: its module may go. */
	module_put(a->handle);
	dsu_core_discard(&dsu_core, a);
out:
	mutex_unlock(&dsu_mutex);
	kfree(ranges);
	kfree(fns);
	return ret;
}
EXPORT_SYMBOL_GPL(dsu_revert);

/*
 * The slow path of every __dsu_con_T in the kernel and in patch modules.
 * Stale code touching a transformed instance means an update was unsafe;
 * say so loudly (once per type) and let the caller go on: stopping the
 * kernel here would lose more than it saves.
 */
void __dsu_type_slow(struct __dsu_type_desc *type, void *obj, unsigned int expected)
{
	char err[DSU_CORE_ERRLEN];

	if (!dsu_core_type_slow(&dsu_core, type, obj, expected, err, sizeof(err)))
		return;
	WARN_ONCE(1, "dsu: %s\n", err);
}
EXPORT_SYMBOL(__dsu_type_slow);
