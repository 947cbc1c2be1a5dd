// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space back end of the DSU runtime, linked into every program that
 * dsu-cc links (libdsu-rt.a); this file is the program side of it:
 *   - requests: dsu_apply_file()/dsu_revert_newest() at once, dsu_request()
 *     and dsuctl's (posted by the agent, agent.c) at the next update point;
 *   - threads and update points (dsu_update_point): every thread that has
 *     reached one must be parked at a point that is safe for the patch (the
 *     patch's unsafe table from the safety analysis, or, without one, no
 *     replaced function active on that thread's stack); the last thread to
 *     park carries the request out (update.c);
 *   - fork: a child starts its own agent at its first update point.
 * The rest is in registry.c, update.c, patch_file.c, agent.c, agent_peer.c,
 * shadow.c and stack_check.c (internal.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "dsu.h"

#include "internal.h"
#include "agent.h"
#include "patch_file.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <unwind.h>

/* ---- state ------------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Parked threads wait on it; signalled when a request ends or a thread
 * parks or leaves. */
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;

/* Threads that have reached an update point (until they exit). */
struct dsu_thread {
	struct dsu_thread *next;
	unsigned int id;       /* 1, 2, ... in order of their first update point */
	int parked;            /* waiting at a safe point for the others */
	char where[160];       /* the last update point it reached */
};
static struct dsu_thread *threads;
static unsigned int nthreads, next_thread_id = 1;
static __thread struct dsu_thread *self;
static pthread_key_t thread_key;

enum state { IDLE, PENDING };

/* The one request in flight (requests are serialized). */
static struct {
	enum state state;
	enum dsu_op op;
	struct dsu_applied *prepared;
	unsigned long long requested_ns, prepare_ns;
	int result;
	int from_program; /* dsu_request(): nobody waits to collect the result */
	char waiting[256]; /* why the last update point did not apply it */
	char msg[512];
} req;

static pthread_once_t listener_once = PTHREAD_ONCE_INIT;
static void init_once(void);
static void publish(void);
static void take_mbox(void);
static void recompute_pending(void);
static int agent_sock = -1;
static int started; /* init_once() has run in this process */

DSU_PUBLIC int dsu_apply_file(const char *path, char *msg, unsigned long msglen)
{
	struct dsu_applied *a;
	char why[256];
	int rc = -1;

	pthread_mutex_lock(&lock);
	if (req.state != IDLE) {
		dsu_say(msg, msglen, "another update is in progress");
	} else if (!dsu_prepare_file(path, &a, msg, msglen)) {
		if (dsu_try_apply(a, msg, msglen, why, sizeof(why))) {
			rc = 0;
		} else {
			dsu_say(msg, msglen, "not applied: %s", why);
			dsu_discard_unapplied(a);
		}
	}
	publish();
	pthread_mutex_unlock(&lock);
	return rc;
}

DSU_PUBLIC int dsu_revert_newest(char *msg, unsigned long msglen)
{
	char why[256];
	int rc = -1;

	pthread_mutex_lock(&lock);
	dsu_ensure_core();
	if (req.state != IDLE)
		dsu_say(msg, msglen, "another update is in progress");
	else if (dsu_core_revert_check(&dsu_user_core, why, sizeof(why)))
		dsu_say(msg, msglen, "%s", why);
	else if (dsu_try_revert(msg, msglen, why, sizeof(why)))
		rc = 0;
	else
		dsu_say(msg, msglen, "not reverted: %s", why);
	publish();
	pthread_mutex_unlock(&lock);
	return rc;
}

DSU_PUBLIC int dsu_request(const char *path, char *msg, unsigned long msglen)
{
	struct dsu_applied *a;

	pthread_once(&listener_once, init_once);
	pthread_mutex_lock(&lock);
	dsu_ensure_core();
	if (req.state == PENDING) {
		pthread_mutex_unlock(&lock);
		dsu_say(msg, msglen, "another update is pending");
		return -1;
	}
	if (dsu_prepare_file(path, &a, msg, msglen)) {
		pthread_mutex_unlock(&lock);
		return -1;
	}
	req.op = OP_APPLY;
	req.prepared = a;
	req.requested_ns = dsu_now_ns();
	req.waiting[0] = 0;
	req.msg[0] = 0;
	req.from_program = 1;
	req.state = PENDING;
	__atomic_store_n(&dsu_request_pending, 1, __ATOMIC_RELEASE);
	publish();
	pthread_mutex_unlock(&lock);
	return 0;
}

DSU_PUBLIC int dsu_pending(char *why, unsigned long whylen)
{
	int p;

	pthread_mutex_lock(&lock);
	p = req.state == PENDING;
	dsu_say(why, whylen, "%s", p ? req.waiting : req.msg);
	pthread_mutex_unlock(&lock);
	return p;
}

/* ---- the control agent -------------------------------------------------- */

/* Forgets the pending request; an apply's loaded patch goes (lock held). */
static void drop_request(void)
{
	if (req.op == OP_APPLY)
		dsu_discard_unapplied(req.prepared);
	req.state = IDLE;
}

static void publish(void) /* lock held */
{
	const struct dsu_registry *reg = &dsu_user_registry;
	struct dsu_applied *a;
	char *t = dsu_pub.text;
	size_t n = 0, cap = sizeof(dsu_pub.text);

	__atomic_store_n(&dsu_pub.seq, dsu_pub.seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	n += snprintf(t + n, cap - n,
		      "pid %d: %u updateable functions, %u static variables in %u units; "
		      "patch level %u\n", (int)getpid(), reg->funcs.count, reg->vars.count, reg->units.count,
		      dsu_user_core.depth);
	for (a = dsu_user_core.top; a && n < cap; a = a->below)
		n += snprintf(t + n, cap - n, "level %u: %s: %u function%s replaced, %u added; "
			      "pause %.1f us\n", a->level, a->patch->name, a->nfuncs,
			      a->nfuncs == 1 ? "" : "s", a->patch->nnew_funcs, a->pause_ns / 1000.0);
	if (req.state == PENDING)
		snprintf(dsu_pub.pending, sizeof(dsu_pub.pending), "pending: %s%s%s%s%s\n",
			 req.op == OP_APPLY ? "apply " : "revert",
			 req.op == OP_APPLY ? req.prepared->patch->name : "",
			 req.waiting[0] ? " (waiting: " : "", req.waiting, req.waiting[0] ? ")" : "");
	else
		dsu_pub.pending[0] = 0;
	snprintf(dsu_pub.waiting, sizeof(dsu_pub.waiting), "%s", req.state == PENDING ? req.waiting : "");
	dsu_pub.pending_is_mbox = req.state == PENDING && !req.from_program;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&dsu_pub.seq, dsu_pub.seq + 1, __ATOMIC_RELAXED);
}

/* The mailbox's request, if the agent posted one, becomes req (lock held,
 * at an update point). Answers at once what cannot wait. */
static void answer_mbox(int from, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dsu_mbox.answer, sizeof(dsu_mbox.answer), fmt, ap);
	va_end(ap);
	/* The agent may have cancelled a request the program had not taken. */
	__atomic_compare_exchange_n(&dsu_mbox.state, &from, MB_ANSWERED, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

static void take_mbox(void)
{
	int st = __atomic_load_n(&dsu_mbox.state, __ATOMIC_SEQ_CST);
	struct dsu_applied *a = NULL;
	char msg[512];

	if (st == MB_CANCELLED) {
		if (req.state == PENDING && !req.from_program) {
			drop_request();
			pthread_cond_broadcast(&park_cond);
		}
		__atomic_store_n(&dsu_mbox.state, MB_EMPTY, __ATOMIC_SEQ_CST);
		publish();
		return;
	}
	if (st != MB_POSTED)
		return;
	dsu_ensure_core();
	if (req.state != IDLE) {
		answer_mbox(MB_POSTED, "error: another update is pending");
		return;
	}
	if (dsu_mbox.op == OP_REVERT && dsu_core_revert_check(&dsu_user_core, msg, sizeof(msg))) {
		answer_mbox(MB_POSTED, "error: %s", msg);
		return;
	}
	if (dsu_mbox.op == OP_APPLY && dsu_prepare_file(dsu_mbox.path, &a, msg, sizeof(msg))) {
		answer_mbox(MB_POSTED, "error: %s", msg);
		return;
	}
	if (!__atomic_compare_exchange_n(&dsu_mbox.state, &st, MB_TAKEN, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		/* Cancelled while it loaded. */
		if (a)
			dsu_discard_unapplied(a);
		return;
	}
	req.op = dsu_mbox.op;
	req.from_program = 0;
	req.prepared = a;
	req.requested_ns = dsu_now_ns();
	req.waiting[0] = 0;
	req.msg[0] = 0;
	req.state = PENDING;
	publish();
}

/* `dsu_request_pending` again from what is left to do (lock held). Cleared first, then
 * the mailbox read: a post that lands in between raises it again. */
static void recompute_pending(void)
{
	int st;

	__atomic_store_n(&dsu_request_pending, 0, __ATOMIC_SEQ_CST);
	st = __atomic_load_n(&dsu_mbox.state, __ATOMIC_SEQ_CST);
	if (req.state == PENDING || st == MB_POSTED || st == MB_CANCELLED)
		__atomic_store_n(&dsu_request_pending, 1, __ATOMIC_SEQ_CST);
}

static void start_listener(void)
{
	/* Load the unwinder now, not in the middle of an update's pause. */
	dsu_first_active(NULL, 0);
	pthread_mutex_lock(&lock);
	dsu_ensure_core();
	publish();
	pthread_mutex_unlock(&lock);
	agent_sock = dsu_agent_start();
}

/* fork() with the lock held by nobody; a forked child is another process
 * with no listener: it starts its own at its first update point. */
static void before_fork(void)
{
	pthread_mutex_lock(&lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&lock);
}

static void after_fork_child(void)
{
	pthread_once_t fresh = PTHREAD_ONCE_INIT;

	if (req.state == PENDING)
		drop_request();
	listener_once = fresh;
	started = 0;
	dsu_request_pending = 0;
	/* The parent's agent did not come along; its socket must not outlive
	 * the parent here (dsuctl would connect and wait for nobody). */
	if (agent_sock >= 0)
		close(agent_sock);
	agent_sock = -1;
	__atomic_store_n(&dsu_mbox.state, MB_EMPTY, __ATOMIC_SEQ_CST);
	/* Only this thread goes on in the child. */
	threads = self;
	nthreads = self ? 1 : 0;
	if (self) {
		self->next = NULL;
		self->parked = 0;
	}
	pthread_mutex_unlock(&lock);
}

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static void thread_gone(void *arg);

/* Once per program, not per process: a forked child inherits both (its
 * second atfork registration made a grandchild's fork lock `lock` twice). */
static void make_key(void)
{
	pthread_key_create(&thread_key, thread_gone);
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static void init_once(void)
{
	pthread_once(&key_once, make_key);
	start_listener();
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
}

/* A thread that exits is not waited for any more. */
static void thread_gone(void *arg)
{
	struct dsu_thread *t = arg, **p;

	pthread_mutex_lock(&lock);
	for (p = &threads; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			nthreads--;
			break;
		}
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&lock);
	free(t);
}

static void register_thread(void)
{
	struct dsu_thread *t = calloc(1, sizeof(*t));

	if (!t)
		return;
	pthread_mutex_lock(&lock);
	t->id = next_thread_id++;
	t->next = threads;
	threads = t;
	nthreads++;
	pthread_mutex_unlock(&lock);
	self = t;
	pthread_setspecific(thread_key, t);
}

/* Whether the pending request may be carried out with this thread at
 * `where`; says why not. Lock held. */
static int safe_here(const char *where, char *why, unsigned long whylen)
{
	struct dsu_applied *a = req.prepared;
	const struct __dsu_patch *patch = a ? a->patch : NULL;
	unsigned int i;

	if (req.op == OP_APPLY && patch->analysed) {
		for (i = 0; i < patch->nunsafe; i++)
			if (patch->unsafe[i].kind == DSU_UNSAFE_POINT &&
			    !strcmp(patch->unsafe[i].where, where)) {
				dsu_say(why, whylen, "thread %u at %s: %s", self->id, where, patch->unsafe[i].why);
				return 0;
			}
		return 1;
	}
	if (req.op == OP_APPLY) {
		void **fns = calloc(a->nfuncs + 1, sizeof(void *));
		unsigned int n = dsu_core_apply_code(a, fns, a->nfuncs);

		return !dsu_code_busy(a, fns, n, 0, why, whylen);
	} else {
		struct dsu_applied *top = dsu_user_core.top;
		unsigned int max = top->nfuncs + top->patch->nnew_funcs + 1;
		void **fns = calloc(max, sizeof(void *));
		unsigned int n = dsu_core_revert_code(&dsu_user_core, fns, max);

		return !dsu_code_busy(top, fns, n, 1, why, whylen);
	}
}

static unsigned long park_ms(void)
{
	const char *e = getenv("DSU_PARK_MS");
	long v = e ? strtol(e, NULL, 10) : 0;

	return v > 0 ? (unsigned long)v : 200;
}

/* Carries out the pending request (every thread is at a safe point).
 * 1 = done. */
static int finish_request(void)
{
	char why[sizeof(req.waiting)];
	int ok, st = MB_TAKEN;

	/* From here on dsuctl's cancel comes too late (and if it came first,
	 * the request is dropped). */
	if (!req.from_program && !__atomic_compare_exchange_n(&dsu_mbox.state, &st, MB_COMMITTING, 0,
							      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		take_mbox();
		return 0;
	}

	/* The checks were made as each thread parked; try_* repeat the
	 * activeness check on this thread only where no analysis exists. */
	if (req.op == OP_APPLY && req.prepared->patch->analysed) {
		unsigned long long t0 = dsu_now_ns();

		dsu_core_commit(&dsu_user_core, req.prepared);
		req.prepared->pause_ns = dsu_now_ns() - t0;
		dsu_keep_patch_file(req.prepared);
		dsu_say(req.msg, sizeof(req.msg), "applied %s (level %u): %u function%s replaced, %u added; "
		    "pause %.1f us; prepare %.1f us; %u thread%s at safe points",
		    req.prepared->patch->name, req.prepared->level, req.prepared->nfuncs,
		    req.prepared->nfuncs == 1 ? "" : "s", req.prepared->patch->nnew_funcs,
		    req.prepared->pause_ns / 1000.0, req.prepared->prepare_ns / 1000.0, nthreads,
		    nthreads == 1 ? "" : "s");
		ok = 1;
	} else if (req.op == OP_APPLY) {
		ok = dsu_try_apply(req.prepared, req.msg, sizeof(req.msg), why, sizeof(why));
	} else {
		ok = dsu_try_revert(req.msg, sizeof(req.msg), why, sizeof(why));
	}
	if (!ok) {
		snprintf(req.waiting, sizeof(req.waiting), "%s", why);
		if (!req.from_program)
			__atomic_store_n(&dsu_mbox.state, MB_TAKEN, __ATOMIC_SEQ_CST);
		return 0;
	}
	req.result = 0;
	req.state = IDLE;
	if (!req.from_program)
		answer_mbox(MB_COMMITTING, "ok: %s", req.msg);
	pthread_cond_broadcast(&park_cond);
	return 1;
}

static int all_parked(void)
{
	struct dsu_thread *t;

	for (t = threads; t; t = t->next)
		if (!t->parked)
			return 0;
	return 1;
}

DSU_PUBLIC int dsu_update_point(const char *file, int line)
{
	struct timespec deadline;
	unsigned long ms;
	int done = 0;

	/* The fast path is three loads: started, self (TLS) and dsu_request_pending. */
	if (__builtin_expect(!__atomic_load_n(&started, __ATOMIC_ACQUIRE), 0))
		pthread_once(&listener_once, init_once);
	if (__builtin_expect(!self, 0))
		register_thread();
	if (__builtin_expect(!__atomic_load_n(&dsu_request_pending, __ATOMIC_ACQUIRE), 1))
		return 0;
	pthread_mutex_lock(&lock);
	take_mbox();
	if (req.state != PENDING || !self) {
		recompute_pending();
		pthread_mutex_unlock(&lock);
		return 0;
	}
	snprintf(self->where, sizeof(self->where), "%s:%d", file, line);
	if (!safe_here(self->where, req.waiting, sizeof(req.waiting))) {
		publish();
		pthread_mutex_unlock(&lock);
		return 0;
	}
	/* Park until every other thread is parked at a safe point too; the
	 * last to arrive carries the request out. */
	self->parked = 1;
	ms = park_ms();
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (;;) {
		if (req.state != PENDING)
			break;
		if (all_parked()) {
			done = finish_request();
			break;
		}
		if (pthread_cond_timedwait(&park_cond, &lock, &deadline) == ETIMEDOUT) {
			struct dsu_thread *t;

			for (t = threads; t; t = t->next)
				if (!t->parked) {
					snprintf(req.waiting, sizeof(req.waiting),
						 "thread %u has not reached a safe update point (last at %s)",
						 t->id, t->where[0] ? t->where : "none yet");
					break;
				}
			break;
		}
	}
	self->parked = 0;
	publish();
	recompute_pending();
	pthread_mutex_unlock(&lock);
	return done;
}
