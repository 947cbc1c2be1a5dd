// SPDX-License-Identifier: GPL-2.0
/*
 * The transition in the Ksplice model: stop_machine(), then walk every
 * task's stack; if a return address lies inside code being replaced (or
 * being removed, on revert), or an analysed patch's frame rules (frames.c)
 * refuse a frame, let the machine go, back off and retry; otherwise switch
 * the pointers while everything is still stopped.
 */
#include "internal.h"

/*
 * How long an apply or revert keeps retrying while a function it would
 * change stays active, in milliseconds. Built in, so on the command line
 * it is dsu.timeout_ms= and at run time /sys/module/dsu/parameters/timeout_ms.
 */
static unsigned int dsu_timeout_ms = 5000;
module_param_named(timeout_ms, dsu_timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms, "give up an apply or revert after this many ms of active functions");

/* First and longest pause between two attempts (doubling in between). */
#define DSU_BACKOFF_MIN_MS 10U
#define DSU_BACKOFF_MAX_MS 640U

/* Return addresses kept per task; a deeper stack counts as unreliable. */
#define DSU_TRACE_MAX 128

/* One stack at a time, under stop_machine(); only used with dsu_mutex held. */
static unsigned long dsu_trace[DSU_TRACE_MAX];

/*
 * Each function's extent, from kallsyms: a return address anywhere inside
 * means the function is still running. Done before stop_machine(): lookups
 * in module symbol tables are too slow for the pause.
 */
static int dsu_ranges(void **fns, unsigned int n, struct dsu_range *r)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		unsigned long size, off, addr = (unsigned long)fns[i];

		if (!kallsyms_lookup_size_offset(addr, &size, &off) || !size) {
			pr_err("cannot tell the extent of the function at %pS, so not whether it is active\n",
			       fns[i]);
			return -EINVAL;
		}
		r[i].start = addr - off;
		r[i].end = addr - off + size;
	}
	return 0;
}

static unsigned int dsu_save_stack(struct task_struct *t, int *err)
{
	int n;

	/*
	 * The reliable walk fails on anything it cannot vouch for (a frame
	 * without unwind data, a too deep stack) instead of silently ending
	 * early, which would let a still active function through.
	 */
	if (IS_ENABLED(CONFIG_HAVE_RELIABLE_STACKTRACE)) {
		n = stack_trace_save_tsk_reliable(t, dsu_trace, DSU_TRACE_MAX);
		if (n < 0) {
			*err = n;
			return 0;
		}
		return n;
	}
	n = stack_trace_save_tsk(t, dsu_trace, DSU_TRACE_MAX, 0);
	if (n == DSU_TRACE_MAX)
		*err = -E2BIG;
	return n;
}

/* ---- An analysed patch's frame rules (docs/safety.md, "Kernel runtime") */
/* -EBUSY, with the culprit in s, when t's stack stops the update. */
static int dsu_check_task(struct dsu_stop *s, struct task_struct *t)
{
	unsigned int i, j, n;
	int err = 0;

	/*
	 * Under stop_machine() the task on each CPU is its stopper thread
	 * (this one included), which runs nothing but stop_machine code; the
	 * stack of a running task cannot be walked anyway.
	 */
	if (task_curr(t))
		return 0;
	s->ntasks++;
	n = dsu_save_stack(t, &err);
	if (err) {
		s->busy = DSU_BUSY_UNWIND;
		s->err = err;
		goto busy;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < s->nranges; j++)
			if (dsu_trace[i] >= s->ranges[j].start && dsu_trace[i] < s->ranges[j].end) {
				s->busy = DSU_BUSY_ACTIVE;
				s->fn = s->ranges[j].start;
				s->addr = dsu_trace[i];
				goto busy;
			}
	if (s->frames && dsu_check_frames(s, dsu_trace, n))
		goto busy;
	return 0;
busy:
	s->pid = task_pid_nr(t);
	strscpy(s->comm, t->comm, sizeof(s->comm));
	return -EBUSY;
}

static int dsu_check_stacks(struct dsu_stop *s)
{
	struct task_struct *g, *t;
	int cpu, ret = 0;

	rcu_read_lock();
	for_each_process_thread(g, t) {
		ret = dsu_check_task(s, t);
		if (ret)
			goto out;
	}
	/* Idle tasks are not on the task list, but can be inside code too. */
	for_each_online_cpu(cpu) {
		ret = dsu_check_task(s, idle_task(cpu));
		if (ret)
			goto out;
	}
out:
	rcu_read_unlock();
	return ret;
}

/* Runs on one CPU while every other online CPU spins with interrupts off. */
static int dsu_stop_fn(void *data)
{
	struct dsu_stop *s = data;
	u64 t0 = ktime_get_mono_fast_ns();
	int ret;

	s->ntasks = 0;
	ret = dsu_check_stacks(s);
	if (ret)
		return ret;
	if (s->apply)
		dsu_core_commit(&dsu_core, s->apply);
	else
		s->reverted = dsu_core_revert_commit(&dsu_core);
	s->pause_ns = ktime_get_mono_fast_ns() - t0;
	return 0;
}

/* Why the last attempt was refused, in words. */
static void dsu_busy_reason(const struct dsu_stop *s, char *buf, size_t len)
{
	switch (s->busy) {
	case DSU_BUSY_UNWIND:
		snprintf(buf, len, "the stack of %s (pid %d) cannot be walked reliably (%d)", s->comm,
			 s->pid, s->err);
		break;
	case DSU_BUSY_ACTIVE:
		snprintf(buf, len, "%ps is active in %s (pid %d) at %pB", (void *)s->fn, s->comm, s->pid,
			 (void *)s->addr);
		break;
	case DSU_BUSY_TYPE:
		snprintf(buf, len, "%s (pid %d) will return to %pB, whose old code is unsafe: %s",
			 s->comm, s->pid, (void *)s->addr, s->why ? s->why : "it uses a changed type");
		break;
	case DSU_BUSY_TX:
		snprintf(buf, len,
			 "%s (pid %d) is inside a system call that already ran code the patch changes (in %pB) and may run more of it (after %pB)",
			 s->comm, s->pid, (void *)s->prior, (void *)s->future);
		break;
	}
}

static void dsu_set_pending(const char *fmt, ...)
{
	va_list ap;

	mutex_lock(&dsu_state_mutex);
	va_start(ap, fmt);
	vsnprintf(dsu_pending, sizeof(dsu_pending), fmt, ap);
	va_end(ap);
	mutex_unlock(&dsu_state_mutex);
}

/*
 * stop_machine() until the stacks are clear, backing off in between, for
 * at most dsu_timeout_ms; /proc/dsu shows why it waits meanwhile. On
 * failure says why, naming the task and the function.
 */
int dsu_stop_retry(struct dsu_stop *s, const char *what, const char *patch)
{
	static char reason[256]; /* under dsu_mutex */
	unsigned int delay = DSU_BACKOFF_MIN_MS, tries = 0;
	u64 t0 = ktime_get_ns(), limit = (u64)READ_ONCE(dsu_timeout_ms) * NSEC_PER_MSEC;
	u64 t, elapsed;
	int ret;

	for (;;) {
		t = ktime_get_ns();
		mutex_lock(&dsu_state_mutex);
		ret = stop_machine(dsu_stop_fn, s, NULL);
		mutex_unlock(&dsu_state_mutex);
		tries++;
		if (ret != -EBUSY) {
			s->stop_ns = ktime_get_ns() - t;
			goto out;
		}
		elapsed = ktime_get_ns() - t0;
		dsu_busy_reason(s, reason, sizeof(reason));
		dsu_set_pending("%s %s: waiting %llu ms (%u tries): %s", what, patch,
				elapsed / NSEC_PER_MSEC, tries, reason);
		if (elapsed >= limit)
			break;
		/* The last attempt comes at the deadline, not a backoff step before it. */
		delay = min_t(u64, delay, div_u64(limit - elapsed, NSEC_PER_MSEC) + 1);
		if (msleep_interruptible(delay) || signal_pending(current)) {
			pr_err("%s %s: interrupted while waiting; nothing changed\n", what, patch);
			ret = -EINTR;
			goto out;
		}
		delay = min(2 * delay, DSU_BACKOFF_MAX_MS);
	}
	pr_err("%s %s: gave up after %u tries in %llu ms: %s; nothing changed\n", what, patch, tries,
	       elapsed / NSEC_PER_MSEC, reason);
	ret = -EBUSY;
out:
	dsu_set_pending("%s", "");
	return ret;
}

/* The extents of `n` functions, allocated; NULL on failure (logged). */
struct dsu_range *dsu_ranges_alloc(void **fns, unsigned int n, int *ret)
{
	struct dsu_range *r = kcalloc(max(n, 1U), sizeof(*r), GFP_KERNEL);

	*ret = -ENOMEM;
	if (!r)
		return NULL;
	*ret = dsu_ranges(fns, n, r);
	if (*ret) {
		kfree(r);
		return NULL;
	}
	return r;
}
