// SPDX-License-Identifier: GPL-2.0
/*
 * A hand-written DSU patch that exercises the kernel runtime: it replaces
 * fs/proc/version.c:version_proc_show with a version that prints the
 * original line plus "dsu: handpatch". Real patches come from dsu-patchgen;
 * this one is written the way they are laid out (struct __dsu_patch with
 * its units, functions and reference slots).
 *
 * References: linux_proc_banner is not exported, so it comes by name
 * (DSU_REF_SYMBOL); __seq_puts is reached through the registry by
 * (unit, name) (DSU_REF_FUNC), the way a patch reaches a static function.
 *
 * sleep_ms (a module parameter, 0 by default) makes the new function sleep
 * before returning, so a test can hold it active on a stack and check that
 * a revert refuses.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

#include "dsu/abi.h"
#include "dsu_kernel.h"

#ifdef HANDPATCH_STALE
/* Another build of the unit: the runtime must refuse the patch. */
#define UNIT_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define PATCH_NAME "handpatch-stale"
#else
#define UNIT_HASH HANDPATCH_UNIT_HASH
#define PATCH_NAME "handpatch"
#endif

static unsigned int sleep_ms;
module_param(sleep_ms, uint, 0644);
MODULE_PARM_DESC(sleep_ms, "sleep this long inside the new version_proc_show");

/* Filled by the runtime before the patch runs. */
static const char *ref_linux_proc_banner;
static void (*ref_seq_puts)(struct seq_file *m, const char *s);

static int handpatch_version_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, ref_linux_proc_banner,
		   utsname()->sysname,
		   utsname()->release,
		   utsname()->version);
	ref_seq_puts(m, "dsu: handpatch\n");
	if (READ_ONCE(sleep_ms))
		msleep(READ_ONCE(sleep_ms));
	return 0;
}

static const struct __dsu_patch_unit handpatch_units[] = {
	{ .tu = HANDPATCH_TU, .unit_hash = UNIT_HASH },
	/* The unit of __seq_puts, which the patch reaches through the registry. */
	{ .tu = "fs/seq_file.c", .unit_hash = HANDPATCH_SEQ_FILE_HASH },
};

static const struct __dsu_patch_func handpatch_funcs[] = {
	{ .tu = HANDPATCH_TU, .name = "version_proc_show", .fn = handpatch_version_proc_show },
};

static const struct __dsu_patch_ref handpatch_refs[] = {
	{ .kind = DSU_REF_SYMBOL, .name = "linux_proc_banner",
	  .slot = (void **)&ref_linux_proc_banner },
	{ .kind = DSU_REF_FUNC, .tu = "fs/seq_file.c", .name = "__seq_puts",
	  .slot = (void **)&ref_seq_puts },
};

static const struct __dsu_patch handpatch = {
	.abi = DSU_ABI_VERSION,
	.nunits = ARRAY_SIZE(handpatch_units),
	.nfuncs = ARRAY_SIZE(handpatch_funcs),
	.nrefs = ARRAY_SIZE(handpatch_refs),
	.name = PATCH_NAME,
	.parent = "",
	.units = handpatch_units,
	.funcs = handpatch_funcs,
	.refs = handpatch_refs,
};

/* The module is the patch: loading applies it, a refused patch fails the load. */
static int __init handpatch_init(void)
{
	return dsu_apply(&handpatch, THIS_MODULE);
}
module_init(handpatch_init);

/* Nothing to undo: the runtime holds the module while the patch is applied. */
static void __exit handpatch_exit(void)
{
}
module_exit(handpatch_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("DSU smoke-test patch: /proc/version says dsu: handpatch");
