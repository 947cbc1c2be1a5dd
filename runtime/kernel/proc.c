// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/dsu: the applied patches, the registry and what an update waits
 * for; writing "revert" undoes the newest patch. And the runtime's start.
 */
#include "internal.h"

static int dsu_proc_show(struct seq_file *m, void *v)
{
	const struct dsu_applied *a;

	/* Not dsu_mutex: that one is held while an update waits. */
	if (mutex_lock_interruptible(&dsu_state_mutex))
		return -EINTR;
	seq_puts(m, "level name functions pause_us total_us\n");
	for (a = dsu_core.top; a; a = a->below)
		seq_printf(m, "%u %s %u %llu.%03llu %llu\n", a->level, a->patch->name, a->nfuncs,
			   a->pause_ns / NSEC_PER_USEC, a->pause_ns % NSEC_PER_USEC,
			   a->total_ns / NSEC_PER_USEC);
	seq_printf(m, "registry: %u functions, %u variables, %u units, built in %llu us\n",
		   dsu_kreg.reg.funcs.count, dsu_kreg.reg.vars.count, dsu_kreg.reg.units.count,
		   dsu_kreg.build_ns / NSEC_PER_USEC);
	if (dsu_pending[0])
		seq_printf(m, "pending: %s\n", dsu_pending);
	mutex_unlock(&dsu_state_mutex);
	return 0;
}

static int dsu_proc_open(struct inode *inode, struct file *file)
{
	return single_open(file, dsu_proc_show, NULL);
}

static ssize_t dsu_proc_write(struct file *file, const char __user *ubuf, size_t count,
			      loff_t *ppos)
{
	char buf[16];
	int ret;

	/* Reverting swaps kernel code like unloading a module does. */
	if (!capable(CAP_SYS_MODULE))
		return -EPERM;
	if (count >= sizeof(buf)) {
		pr_err("/proc/dsu: unknown command (the only one is \"revert\")\n");
		return -EINVAL;
	}
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = 0;
	if (strcmp(strim(buf), "revert")) {
		pr_err("/proc/dsu: unknown command \"%s\" (the only one is \"revert\")\n", strim(buf));
		return -EINVAL;
	}
	ret = dsu_revert();
	return ret ? ret : count;
}

static const struct proc_ops dsu_proc_ops = {
	.proc_open = dsu_proc_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = dsu_proc_write,
};

/*
 * late_initcall: kallsyms is complete long before, and every built-in
 * descriptor is in place; patches come from modules, which load later.
 */
static int __init dsu_init(void)
{
	dsu_core_init(&dsu_core, &dsu_env);
	dsu_kernel_registry_build();
	if (!proc_create("dsu", 0644, NULL, &dsu_proc_ops))
		pr_err("cannot create /proc/dsu\n");
	return 0;
}
late_initcall(dsu_init);
