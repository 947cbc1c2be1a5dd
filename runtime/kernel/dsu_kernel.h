/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DSU kernel runtime's interface for patch modules (runtime/kernel/).
 *
 * A patch module defines a struct __dsu_patch (dsu/abi.h) and calls
 * dsu_apply(&patch, THIS_MODULE) from its module_init, returning the error:
 * a refused patch then never stays loaded. While the patch is applied the
 * runtime holds a reference to the module, so it cannot be unloaded; the
 * newest patch is reverted with dsu_revert() or `echo revert > /proc/dsu`.
 */
#ifndef DSU_KERNEL_H
#define DSU_KERNEL_H

struct __dsu_patch;
struct module;

/*
 * Checks `patch` against the running kernel and the patch stack, resolves
 * its references, waits until no function it replaces is on any task's
 * stack, and switches all of them at once under stop_machine().
 * 0, or -EINVAL (does not fit this kernel: see the log), -EBUSY (a function
 * stayed active for dsu.timeout_ms), -ENOENT (no registry, or `owner` is
 * going away), -ENOMEM, -EINTR. On error nothing changed.
 */
int dsu_apply(const struct __dsu_patch *patch, struct module *owner);

/*
 * Reverts the newest applied patch, when none of its code is active, and
 * releases its module. 0, -ENOENT (nothing applied), -EBUSY, -EINVAL,
 * -ENOMEM, -EINTR.
 */
int dsu_revert(void);

#endif /* DSU_KERNEL_H */
