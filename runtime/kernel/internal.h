/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of the kernel runtime (runtime/kernel/, kernel/dsu/ in the
 * tree) share with each other and with nobody else:
 *
 *   registry.c    the descriptors dsu-cc put into vmlinux, found through
 *                 kallsyms, in the shared registry (core/dsu_registry.h)
 *   apply.c       dsu_apply(), dsu_revert(), the type slow path
 *   transition.c  stop_machine() until no stack stops the update
 *   frames.c      an analysed patch's frame rules, checked on each stack
 *   shadow.c      shadow data for structs that are not wrapped
 *   proc.c        /proc/dsu and the late_initcall
 *
 * The runtime must not be instrumented itself (dsu-cc leaves kernel/dsu/
 * out): its own functions would otherwise be replaceable, and the stop
 * callback would run through pointers it is busy rewriting.
 */
#ifndef DSU_KERNEL_INTERNAL_H
#define DSU_KERNEL_INTERNAL_H

#define pr_fmt(fmt) "dsu: " fmt

#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/hashtable.h>
#include <linux/bsearch.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/stacktrace.h>
#include <linux/stop_machine.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/sections.h>

#include "dsu_core.h"
#include "dsu_kernel.h"
#include "dsu_registry.h"

#if !IS_ENABLED(CONFIG_KALLSYMS) || !IS_ENABLED(CONFIG_STACKTRACE)
#error "the DSU runtime needs CONFIG_KALLSYMS (the registry) and CONFIG_STACKTRACE (the stack check)"
#endif

/*
 * Room for element n of the kvmalloc'd array *v of *cap elements of `elem`
 * bytes: doubles it (starting at `first`) when full. 0 or -ENOMEM (the array
 * is then unchanged). kallsyms walks collect into these.
 */
static inline int dsu_array_reserve(void **v, unsigned int n, unsigned int *cap, size_t elem,
				    unsigned int first)
{
	unsigned int new_cap;
	void *grown;

	if (n < *cap)
		return 0;
	new_cap = *cap ? 2 * *cap : first;
	grown = kvmalloc_array(new_cap, elem, GFP_KERNEL);
	if (!grown)
		return -ENOMEM;
	if (n)
		memcpy(grown, *v, n * elem);
	kvfree(*v);
	*v = grown;
	*cap = new_cap;
	return 0;
}

/* registry.c: vmlinux's descriptors, built once at boot. */
struct dsu_kernel_registry {
	struct dsu_registry reg;
	u64 build_ns;
	bool ready;
};
extern struct dsu_kernel_registry dsu_kreg;
int dsu_kernel_registry_build(void);
extern const struct dsu_env dsu_env;

/* apply.c */
/* Serializes updates. */
extern struct mutex dsu_mutex;
/*
 * What /proc/dsu shows: the applied stack (changed only inside
 * stop_machine(), which updaters call with this held) and the reason an
 * update is waiting. Never held while an update sleeps between attempts, so
 * /proc/dsu answers while one waits.
 */
extern struct mutex dsu_state_mutex;
extern char dsu_pending[384];
extern struct dsu_core dsu_core;

/* transition.c */
/* The code a stack must not be in: [start, end) of one function. */
struct dsu_range {
	unsigned long start, end;
};

struct dsu_frames;

/* Why a stack stops an update. */
enum dsu_busy {
	DSU_BUSY_ACTIVE,	/* replaced (or reverted) code is active */
	DSU_BUSY_UNWIND,	/* the stack cannot be walked reliably */
	DSU_BUSY_TYPE,		/* a frame's old code is about to use a changed type */
	DSU_BUSY_TX,		/* a system call ran changed code and may run more */
};

/* Shared with the stop_machine() callback. */
struct dsu_stop {
	struct dsu_applied *apply;	/* commit this; NULL: revert the top */
	const struct dsu_range *ranges;
	unsigned int nranges;
	const struct dsu_frames *frames; /* an analysed patch's rules, or NULL */
	bool consistency;		/* check system calls too (dsu_consistency) */
	/* Out: */
	struct dsu_applied *reverted;
	u64 pause_ns;		/* in the callback that committed */
	u64 stop_ns;		/* its whole stop_machine(), CPUs rounded up included */
	unsigned int ntasks;	/* stacks it walked */
	/* Why the last attempt was refused. */
	enum dsu_busy busy;
	int err;		/* DSU_BUSY_UNWIND: the unwinder's error */
	unsigned long fn, addr;	/* the function and return address in question */
	unsigned long prior, future; /* DSU_BUSY_TX: return addresses of the frames */
	const char *why;	/* DSU_BUSY_TYPE: the rule's reason */
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

int dsu_stop_retry(struct dsu_stop *s, const char *what, const char *patch);
struct dsu_range *dsu_ranges_alloc(void **fns, unsigned int n, int *ret);

/* frames.c: NULL with *ret = 0 when the patch has no frame rules. */
struct dsu_frames *dsu_frames_build(const struct __dsu_patch *patch, int *ret);
void dsu_frames_free(struct dsu_frames *fr);
/* -EBUSY, with the reason in s, when the stack trace[0..n) (innermost
 * first) breaks s->frames' rules. */
int dsu_check_frames(struct dsu_stop *s, const unsigned long *trace, unsigned int n);

#endif /* DSU_KERNEL_INTERNAL_H */
