// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space back end of the DSU runtime, linked into every program that
 * dsu-cc links (libdsu-rt.a):
 *   - the registry: the descriptors the linker gathered in sections
 *     __dsu_funcs / __dsu_vars, hashed by (translation unit, name);
 *   - patches are shared objects defining struct __dsu_patch __dsu_patch,
 *     loaded as the trust model allows (patch_file.c); the shared core
 *     checks and resolves them;
 *   - a control socket (abstract unix socket "dsu.<pid>") served by an agent
 *     thread started at the first update point (a bare clone, see "the
 *     control agent") to the peers agent_peer.c admits: dsuctl's requests
 *     are loaded and carried out at
 *     update points (dsu_update_point): every thread that
 *     has reached one must be parked at a point that is safe for the patch
 *     (the patch's unsafe table from the safety analysis, or, without one,
 *     no replaced function active on that thread's stack); the last thread
 *     to park applies it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "dsu.h"

#include "dsu_core.h"
#include "agent_peer.h"
#include "agent_sys.h"
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

/* Provided by the linker when the program has descriptors. */
extern struct __dsu_func_desc __start___dsu_funcs[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_func_desc __stop___dsu_funcs[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_var_desc __start___dsu_vars[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_var_desc __stop___dsu_vars[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_type_desc __start___dsu_types[] __attribute__((weak, visibility("hidden")));
extern struct __dsu_type_desc __stop___dsu_types[] __attribute__((weak, visibility("hidden")));

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- registry ---------------------------------------------------------- */

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

static void build_registry(void)
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

static const struct dsu_env user_env = {
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
static struct dsu_core core;
static int core_ready;

enum op { OP_NONE, OP_APPLY, OP_REVERT };
enum state { IDLE, PENDING };

/* The one request in flight (requests are serialized). */
static struct {
	enum state state;
	enum op op;
	struct dsu_applied *prepared;
	unsigned long long requested_ns, prepare_ns;
	int result;
	int from_program; /* dsu_request(): nobody waits to collect the result */
	char waiting[256]; /* why the last update point did not apply it */
	char msg[512];
} req;

static volatile int pending; /* read without the lock by dsu_update_point() */

static void ensure_core(void)
{
	if (core_ready)
		return;
	build_registry();
	dsu_core_init(&core, &user_env);
	core_ready = 1;
}

unsigned int dsu_patch_level(void)
{
	return core.depth;
}

static pthread_once_t listener_once = PTHREAD_ONCE_INIT;
static void init_once(void);
static void publish(void);
static void take_mbox(void);
static void recompute_pending(void);
static int agent_sock = -1;
static int started; /* init_once() has run in this process */

/* ---- wrapped types ------------------------------------------------------ */

/*
 * The slow path of __dsu_con_T (the core does the work). Stale code reaching
 * an instance means an update was unsafe: the program's data can no longer
 * be trusted, so it stops here rather than corrupt it.
 */
void __dsu_type_slow(struct __dsu_type_desc *type, void *obj, unsigned int expected)
{
	char err[DSU_CORE_ERRLEN];

	if (!dsu_core_type_slow(&core, type, obj, expected, err, sizeof(err)))
		return;
	fprintf(stderr, "dsu: fatal: %s\n", err);
	abort();
}

/* ---- shadow data -------------------------------------------------------- */

/* Chained hash by object address; one lock (shadow fields are not hot). */
struct shadow {
	struct shadow *next;
	const void *obj;
	unsigned long id;
	unsigned long size;
	unsigned char data[] __attribute__((aligned(16)));
};

#define SHADOW_BUCKETS 1024
static struct shadow *shadows[SHADOW_BUCKETS];
static pthread_mutex_t shadow_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned int shadow_bucket(const void *obj)
{
	uintptr_t a = (uintptr_t)obj;

	return (unsigned int)((a >> 4) ^ (a >> 14)) % SHADOW_BUCKETS;
}

void *__dsu_shadow(const void *obj, unsigned long id, unsigned long size)
{
	struct shadow **b = &shadows[shadow_bucket(obj)], *s;

	pthread_mutex_lock(&shadow_lock);
	for (s = *b; s; s = s->next)
		if (s->obj == obj && s->id == id)
			break;
	if (!s) {
		s = calloc(1, sizeof(*s) + size);
		if (!s) {
			fprintf(stderr, "dsu: fatal: no memory for shadow data\n");
			abort();
		}
		s->obj = obj;
		s->id = id;
		s->size = size;
		s->next = *b;
		*b = s;
	} else if (s->size < size) {
		fprintf(stderr, "dsu: fatal: shadow field %#lx of %p used with size %lu, made with %lu\n",
			id, obj, size, s->size);
		abort();
	}
	pthread_mutex_unlock(&shadow_lock);
	return s->data;
}

void *__dsu_shadow_release(const void *obj)
{
	struct shadow **p, *s;

	pthread_mutex_lock(&shadow_lock);
	for (p = &shadows[shadow_bucket(obj)]; (s = *p);) {
		if (s->obj == obj) {
			*p = s->next;
			free(s);
		} else {
			p = &s->next;
		}
	}
	pthread_mutex_unlock(&shadow_lock);
	return (void *)obj;
}

/* ---- the stack check --------------------------------------------------- */

struct frames {
	uintptr_t start[256];
	unsigned int n;
};

static _Unwind_Reason_Code collect_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct frames *f = arg;

	if (f->n == sizeof(f->start) / sizeof(f->start[0]))
		return _URC_END_OF_STACK;
	f->start[f->n++] = _Unwind_GetRegionStart(ctx);
	return _URC_NO_REASON;
}

/*
 * Index of the first of fns[] that is active on this thread's stack, or -1.
 * A frame is identified by the start of its function's unwind region.
 */
static int first_active(void **fns, unsigned int n)
{
	struct frames frames;
	unsigned int i, j;

	frames.n = 0;
	_Unwind_Backtrace(collect_frame, &frames);
	if (getenv("DSU_DEBUG")) {
		for (i = 0; i < frames.n; i++)
			fprintf(stderr, "dsu: frame %u starts at %#lx\n", i, (unsigned long)frames.start[i]);
		for (j = 0; j < n; j++)
			fprintf(stderr, "dsu: checking %p\n", fns[j]);
	}
	for (i = 0; i < frames.n; i++)
		for (j = 0; j < n; j++)
			if (frames.start[i] && frames.start[i] == (uintptr_t)fns[j])
				return (int)j;
	return -1;
}

/* ---- apply / revert at an update point (lock held) --------------------- */

static void say(char *msg, unsigned long len, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

/* The function (tu:name) behind the i-th entry of the apply/revert code list. */
static const char *code_name(struct dsu_applied *a, int i, int revert, char *buf, unsigned long len)
{
	if ((unsigned int)i < a->nfuncs) {
		struct __dsu_func_desc *d = a->funcs[i].desc;

		snprintf(buf, len, "%s (%s)%s", d->name, d->tu, revert ? ", new version" : "");
	} else {
		struct __dsu_func_desc *d = a->patch->new_funcs[i - a->nfuncs];

		snprintf(buf, len, "%s (%s), added by the patch", d->name, d->tu);
	}
	return buf;
}

/* Whether one of fns[0..n) (the code an apply or revert of `a` must not find
 * running) is active at this update point; says which in `why`. Frees fns. */
static int busy(struct dsu_applied *a, void **fns, unsigned int n, int revert, char *why,
		unsigned long whylen)
{
	int active = first_active(fns, n);
	char name[256];

	free(fns);
	if (active < 0)
		return 0;
	say(why, whylen, "%s is active at this update point",
	    code_name(a, active, revert, name, sizeof(name)));
	return 1;
}

/* The loaded file of a prepared patch (a->handle) once the patch is
 * applied: mapped and open for good (patch_file.h). */
static void keep_patch_file(struct dsu_applied *a)
{
	dsu_patch_file_keep(a->handle);
}

/* A prepared patch that was not applied: unloaded, then forgotten. */
static void discard_unapplied(struct dsu_applied *a)
{
	struct dsu_patch_file *pf = a->handle;

	dsu_patch_file_unload(pf);
	free(pf);
	dsu_core_discard(&core, a);
}

/* 1 = applied, 0 = must wait (why in `why`). */
static int try_apply(struct dsu_applied *a, char *msg, unsigned long len, char *why,
		     unsigned long whylen)
{
	void **fns = calloc(a->nfuncs + 1, sizeof(void *));
	unsigned int n = dsu_core_apply_code(a, fns, a->nfuncs);
	unsigned long long t0, t1;

	if (busy(a, fns, n, 0, why, whylen))
		return 0;
	t0 = now_ns();
	dsu_core_commit(&core, a);
	t1 = now_ns();
	a->pause_ns = t1 - t0;
	keep_patch_file(a);
	say(msg, len, "applied %s (level %u): %u function%s replaced, %u added; pause %.1f us; "
	    "prepare %.1f us", a->patch->name, a->level, a->nfuncs, a->nfuncs == 1 ? "" : "s",
	    a->patch->nnew_funcs, a->pause_ns / 1000.0, a->prepare_ns / 1000.0);
	return 1;
}

static int try_revert(char *msg, unsigned long len, char *why, unsigned long whylen)
{
	struct dsu_applied *a = core.top;
	unsigned int max = a->nfuncs + a->patch->nnew_funcs + 1;
	void **fns = calloc(max, sizeof(void *));
	unsigned int n = dsu_core_revert_code(&core, fns, max);
	unsigned long long t0, t1;

	if (busy(a, fns, n, 1, why, whylen))
		return 0;
	t0 = now_ns();
	a = dsu_core_revert_commit(&core);
	t1 = now_ns();
	say(msg, len, "reverted %s (level %u); pause %.1f us; now at level %u", a->patch->name,
	    a->level, (t1 - t0) / 1000.0, core.depth);
	/* Nothing runs the patch's code any more (checked above), but the
	 * program's data may still point into it (a string, a callback the patch
	 * stored): the object stays mapped (keep_patch_file), only the record
	 * goes. */
	free(a->handle);
	dsu_core_discard(&core, a);
	return 1;
}

static int prepare_file(const char *path, struct dsu_applied **out, char *msg, unsigned long len)
{
	const struct __dsu_patch *patch;
	unsigned long long t0 = now_ns();
	char err[DSU_CORE_ERRLEN];
	struct dsu_patch_file *pf = calloc(1, sizeof(*pf));

	*out = NULL;
	if (!pf) {
		say(msg, len, "no memory to load %s", path);
		return -1;
	}
	if (dsu_patch_file_load(path, pf, msg, len)) {
		free(pf);
		return -1;
	}
	patch = dlsym(pf->handle, DSU_PATCH_SYMBOL);
	if (!patch) {
		say(msg, len, "%s is not a DSU patch (no symbol " DSU_PATCH_SYMBOL ")", path);
		goto refused;
	}
	ensure_core();
	if (dsu_core_prepare(&core, patch, out, err, sizeof(err))) {
		say(msg, len, "%s", err);
		goto refused;
	}
	(*out)->handle = pf;
	(*out)->prepare_ns = now_ns() - t0;
	return 0;
refused:
	dsu_patch_file_unload(pf);
	free(pf);
	return -1;
}

int dsu_apply_file(const char *path, char *msg, unsigned long msglen)
{
	struct dsu_applied *a;
	char why[256];
	int rc = -1;

	pthread_mutex_lock(&lock);
	if (req.state != IDLE) {
		say(msg, msglen, "another update is in progress");
	} else if (!prepare_file(path, &a, msg, msglen)) {
		if (try_apply(a, msg, msglen, why, sizeof(why))) {
			rc = 0;
		} else {
			say(msg, msglen, "not applied: %s", why);
			discard_unapplied(a);
		}
	}
	publish();
	pthread_mutex_unlock(&lock);
	return rc;
}

int dsu_revert_newest(char *msg, unsigned long msglen)
{
	char why[256];
	int rc = -1;

	pthread_mutex_lock(&lock);
	ensure_core();
	if (req.state != IDLE)
		say(msg, msglen, "another update is in progress");
	else if (dsu_core_revert_check(&core, why, sizeof(why)))
		say(msg, msglen, "%s", why);
	else if (try_revert(msg, msglen, why, sizeof(why)))
		rc = 0;
	else
		say(msg, msglen, "not reverted: %s", why);
	publish();
	pthread_mutex_unlock(&lock);
	return rc;
}

int dsu_request(const char *path, char *msg, unsigned long msglen)
{
	struct dsu_applied *a;

	pthread_once(&listener_once, init_once);
	pthread_mutex_lock(&lock);
	ensure_core();
	if (req.state == PENDING) {
		pthread_mutex_unlock(&lock);
		say(msg, msglen, "another update is pending");
		return -1;
	}
	if (prepare_file(path, &a, msg, msglen)) {
		pthread_mutex_unlock(&lock);
		return -1;
	}
	req.op = OP_APPLY;
	req.prepared = a;
	req.requested_ns = now_ns();
	req.waiting[0] = 0;
	req.msg[0] = 0;
	req.from_program = 1;
	req.state = PENDING;
	__atomic_store_n(&pending, 1, __ATOMIC_RELEASE);
	publish();
	pthread_mutex_unlock(&lock);
	return 0;
}

int dsu_pending(char *why, unsigned long whylen)
{
	int p;

	pthread_mutex_lock(&lock);
	p = req.state == PENDING;
	say(why, whylen, "%s", p ? req.waiting : req.msg);
	pthread_mutex_unlock(&lock);
	return p;
}

/* ---- the control agent -------------------------------------------------- */

/*
 * dsuctl talks to an agent thread that glibc does not know about: a bare
 * clone() with its own stack, all signals blocked, making raw system calls
 * only. A pthread would do, but the first pthread_create() turns glibc's
 * multi-threaded mode on for good, and from then on every cancellable call
 * of the program (read, send, poll, ...) pays for enabling and disabling
 * asynchronous cancellation: 1.28x the instructions of the example server's
 * request loop, a third of it that. So the agent shares the thread's TLS
 * pointer and must not touch TLS: no errno, no locks, no stdio, no malloc;
 * it copies bytes between the socket and two structures below.
 *
 * The agent only talks; the program does the work at its update points:
 * the agent posts a request in the mailbox and raises `pending`; the next
 * update point loads the patch (dlopen and the core's checks, as before in
 * the listener) and carries it out when safe; the answer goes back through
 * the mailbox. `status` is answered at once from text the program publishes
 * whenever its state changes (a seqlock: the agent retries a torn copy).
 */
enum mbox_state {
	MB_EMPTY,     /* the agent may post */
	MB_POSTED,    /* op and path are set; the program has not looked yet */
	MB_TAKEN,     /* the program prepared it: req.state == PENDING */
	MB_COMMITTING,/* the program is applying it: too late to cancel */
	MB_CANCELLED, /* the agent gave up on a taken request; the program discards it */
	MB_ANSWERED,  /* answer holds the outcome line */
};

static struct {
	int state; /* enum mbox_state, atomic */
	int op;    /* OP_APPLY, OP_REVERT */
	char path[PATH_MAX];
	char answer[1024]; /* "ok: ..." or "error: ..." */
} mbox;

struct status_text {
	unsigned int seq; /* odd while the program writes */
	int pending_is_mbox; /* the pending line is about the mailbox's request */
	char text[4096];  /* the status lines, without the pending line */
	char pending[512]; /* "pending: ...\n" or "" */
	char waiting[256]; /* why the pending request waits, or "" */
};
static struct status_text pub;

/* Forgets the pending request; an apply's loaded patch goes (lock held). */
static void drop_request(void)
{
	if (req.op == OP_APPLY)
		discard_unapplied(req.prepared);
	req.state = IDLE;
}

static void publish(void) /* lock held */
{
	struct dsu_applied *a;
	char *t = pub.text;
	size_t n = 0, cap = sizeof(pub.text);

	__atomic_store_n(&pub.seq, pub.seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	n += snprintf(t + n, cap - n,
		      "pid %d: %u updateable functions, %u static variables in %u units; "
		      "patch level %u\n", (int)getpid(), nfuncs_registered, nvars_registered, nunits,
		      core.depth);
	for (a = core.top; a && n < cap; a = a->below)
		n += snprintf(t + n, cap - n, "level %u: %s: %u function%s replaced, %u added; "
			      "pause %.1f us\n", a->level, a->patch->name, a->nfuncs,
			      a->nfuncs == 1 ? "" : "s", a->patch->nnew_funcs, a->pause_ns / 1000.0);
	if (req.state == PENDING)
		snprintf(pub.pending, sizeof(pub.pending), "pending: %s%s%s%s%s\n",
			 req.op == OP_APPLY ? "apply " : "revert",
			 req.op == OP_APPLY ? req.prepared->patch->name : "",
			 req.waiting[0] ? " (waiting: " : "", req.waiting, req.waiting[0] ? ")" : "");
	else
		pub.pending[0] = 0;
	snprintf(pub.waiting, sizeof(pub.waiting), "%s", req.state == PENDING ? req.waiting : "");
	pub.pending_is_mbox = req.state == PENDING && !req.from_program;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&pub.seq, pub.seq + 1, __ATOMIC_RELAXED);
}

/* The mailbox's request, if the agent posted one, becomes req (lock held,
 * at an update point). Answers at once what cannot wait. */
static void answer_mbox(int from, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mbox.answer, sizeof(mbox.answer), fmt, ap);
	va_end(ap);
	/* The agent may have cancelled a request the program had not taken. */
	__atomic_compare_exchange_n(&mbox.state, &from, MB_ANSWERED, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

static void take_mbox(void)
{
	int st = __atomic_load_n(&mbox.state, __ATOMIC_SEQ_CST);
	struct dsu_applied *a = NULL;
	char msg[512];

	if (st == MB_CANCELLED) {
		if (req.state == PENDING && !req.from_program) {
			drop_request();
			pthread_cond_broadcast(&park_cond);
		}
		__atomic_store_n(&mbox.state, MB_EMPTY, __ATOMIC_SEQ_CST);
		publish();
		return;
	}
	if (st != MB_POSTED)
		return;
	ensure_core();
	if (req.state != IDLE) {
		answer_mbox(MB_POSTED, "error: another update is pending");
		return;
	}
	if (mbox.op == OP_REVERT && dsu_core_revert_check(&core, msg, sizeof(msg))) {
		answer_mbox(MB_POSTED, "error: %s", msg);
		return;
	}
	if (mbox.op == OP_APPLY && prepare_file(mbox.path, &a, msg, sizeof(msg))) {
		answer_mbox(MB_POSTED, "error: %s", msg);
		return;
	}
	if (!__atomic_compare_exchange_n(&mbox.state, &st, MB_TAKEN, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		/* Cancelled while it loaded. */
		if (a)
			discard_unapplied(a);
		return;
	}
	req.op = mbox.op;
	req.from_program = 0;
	req.prepared = a;
	req.requested_ns = now_ns();
	req.waiting[0] = 0;
	req.msg[0] = 0;
	req.state = PENDING;
	publish();
}

/* `pending` again from what is left to do (lock held). Cleared first, then
 * the mailbox read: a post that lands in between raises it again. */
static void recompute_pending(void)
{
	int st;

	__atomic_store_n(&pending, 0, __ATOMIC_SEQ_CST);
	st = __atomic_load_n(&mbox.state, __ATOMIC_SEQ_CST);
	if (req.state == PENDING || st == MB_POSTED || st == MB_CANCELLED)
		__atomic_store_n(&pending, 1, __ATOMIC_SEQ_CST);
}

/* -- the agent itself: raw system calls, no TLS (agent_sys.h) -- */

static void agent_send(int fd, const char *text, size_t len)
{
	while (len) {
		long n = agent_syscall(SYS_sendto, fd, (long)text, (long)len,
				       MSG_NOSIGNAL | MSG_DONTWAIT, 0);

		if (n == -EINTR)
			continue;
		/* A client that does not read its answers loses them (the
		 * agent never blocks on one client). */
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

static void agent_say(int fd, const char *text)
{
	agent_send(fd, text, strlen(text));
}

/* Connections served at once, how many of them one user may hold, and how
 * long a connection may stay open without sending its request: a client
 * that connects and waits (or a crowd of them) must not lock the owner and
 * root out. A connection whose request was posted waits for its answer. */
#define AGENT_CONNS 16
#define AGENT_CONNS_PER_UID 4
#define AGENT_IDLE_MS 2000

struct agent_conn {
	int fd;      /* -1: free */
	int waiting; /* owns the mailbox's request */
	unsigned int uid;
	unsigned long long since_ms; /* accepted at */
	size_t len;
	char line[PATH_MAX + 16];
};

static void agent_close(struct agent_conn *c)
{
	agent_syscall(SYS_close, c->fd, 0, 0, 0, 0);
	c->fd = -1;
	c->waiting = 0;
	c->len = 0;
}

/* Answers a connection that is not served and closes it. What the client
 * sent is read first: closing a unix socket with unread data resets the
 * connection, and the client might not get to read the answer. */
static void agent_turn_away(long fd, const char *answer)
{
	char drain[256];

	agent_say((int)fd, answer);
	while (agent_syscall(SYS_recvfrom, fd, (long)drain, sizeof(drain), MSG_DONTWAIT, 0) > 0)
		;
	agent_syscall(SYS_close, fd, 0, 0, 0, 0);
}

/* A consistent copy of what the program published (retried while torn). */
static const struct status_text *agent_snapshot(void)
{
	static struct status_text copy;
	unsigned int seq;

	do {
		seq = __atomic_load_n(&pub.seq, __ATOMIC_ACQUIRE);
		memcpy(&copy, &pub, sizeof(copy));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || seq != __atomic_load_n(&pub.seq, __ATOMIC_RELAXED));
	copy.text[sizeof(copy.text) - 1] = copy.pending[sizeof(copy.pending) - 1] = 0;
	copy.waiting[sizeof(copy.waiting) - 1] = 0;
	return &copy;
}

static void agent_status(int fd)
{
	const struct status_text *st = agent_snapshot();

	agent_say(fd, st->text);
	/* A cancelled request is gone for dsuctl even before the program's next
	 * update point discards it. */
	if (!(st->pending_is_mbox && __atomic_load_n(&mbox.state, __ATOMIC_SEQ_CST) == MB_CANCELLED))
		agent_say(fd, st->pending);
	agent_say(fd, "ok\n");
}

/* A complete request line from c: answers it or posts it. 1 = close c. */
static int agent_request(struct agent_conn *c)
{
	int apply = !strncmp(c->line, "apply ", 6);
	const char *path = c->line + 6;

	if (!strcmp(c->line, "status")) {
		agent_status(c->fd);
		return 1;
	}
	if (!apply && strcmp(c->line, "revert")) {
		agent_say(c->fd, "error: unknown request (status, apply PATH, revert)\n");
		return 1;
	}
	if (apply && strlen(path) >= sizeof(mbox.path)) {
		agent_say(c->fd, "error: the patch path is too long\n");
		return 1;
	}
	/* The program resolves the path from its own working directory. */
	if (apply && path[0] != '/') {
		agent_say(c->fd, "error: the patch path must be absolute\n");
		return 1;
	}
	if (__atomic_load_n(&mbox.state, __ATOMIC_SEQ_CST) != MB_EMPTY) {
		agent_say(c->fd, "error: another update is pending\n");
		return 1;
	}
	mbox.op = apply ? OP_APPLY : OP_REVERT;
	if (apply)
		memcpy(mbox.path, path, strlen(path) + 1);
	__atomic_store_n(&mbox.state, MB_POSTED, __ATOMIC_SEQ_CST);
	__atomic_store_n(&pending, 1, __ATOMIC_SEQ_CST);
	agent_say(c->fd, "waiting for an update point\n");
	c->waiting = 1;
	return 0;
}

/* The client of the mailbox's request said "cancel" or hung up. 1 = close. */
static int agent_cancel(struct agent_conn *c)
{
	int st = MB_POSTED;

	if (__atomic_compare_exchange_n(&mbox.state, &st, MB_EMPTY, 0, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST)) {
		agent_say(c->fd, "error: cancelled before the program reached an update point\n");
		return 1;
	}
	if (st == MB_TAKEN && __atomic_compare_exchange_n(&mbox.state, &st, MB_CANCELLED, 0,
							  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		const struct status_text *snap = agent_snapshot();

		agent_say(c->fd, "error: cancelled before the program reached an update point where "
			  "it was safe");
		if (snap->waiting[0]) {
			agent_say(c->fd, "; last: ");
			agent_say(c->fd, snap->waiting);
		}
		agent_say(c->fd, "\n");
		return 1;
	}
	return 0; /* committing or answered: the outcome follows */
}

/* A new connection: served if its peer may use the agent and has room. */
static void agent_accept(struct agent_conn *conns, long fd)
{
	struct agent_peer peer;
	char why[256];
	int i, free_slot = -1, mine = 0;

	if (!agent_peer_admit((int)fd, &peer, why, sizeof(why))) {
		agent_turn_away(fd, why);
		return;
	}
	for (i = 0; i < AGENT_CONNS; i++) {
		if (conns[i].fd < 0 && free_slot < 0)
			free_slot = i;
		else if (conns[i].fd >= 0 && conns[i].uid == peer.uid)
			mine++;
	}
	if (mine >= AGENT_CONNS_PER_UID) {
		struct agent_text t = { why, 0, sizeof(why) };

		agent_text_str(&t, "error: uid ");
		agent_text_uint(&t, peer.uid);
		agent_text_str(&t, " already holds ");
		agent_text_uint(&t, mine);
		agent_text_str(&t, " connections to this process; try again\n");
		agent_turn_away(fd, why);
		return;
	}
	if (free_slot < 0) {
		agent_turn_away(fd, "error: too many dsuctl connections; try again\n");
		return;
	}
	conns[free_slot].fd = (int)fd;
	conns[free_slot].uid = peer.uid;
	conns[free_slot].since_ms = agent_now_ms();
}

/* Reads what c sent; 1 = close c. */
static int agent_read(struct agent_conn *c)
{
	char buf[256], *nl;
	long got;

	if (c->waiting) {
		got = agent_syscall(SYS_read, c->fd, (long)buf, sizeof(buf), 0, 0);
		if (got == -EINTR || got == -EAGAIN)
			return 0;
		return (got <= 0 || !strncmp(buf, "cancel", 6)) && agent_cancel(c);
	}
	got = agent_syscall(SYS_read, c->fd, (long)(c->line + c->len),
			    (long)(sizeof(c->line) - 1 - c->len), 0, 0);
	if (got == -EINTR || got == -EAGAIN)
		return 0;
	if (got <= 0)
		return 1;
	c->len += (size_t)got;
	c->line[c->len] = 0;
	nl = memchr(c->line, '\n', c->len);
	if (!nl) {
		if (c->len < sizeof(c->line) - 1)
			return 0;
		agent_say(c->fd, "error: the request is too long\n");
		return 1;
	}
	*nl = 0;
	return agent_request(c);
}

static int agent_main(void *arg)
{
	static struct agent_conn conns[AGENT_CONNS];
	int sock = (int)(intptr_t)arg;
	int i;

	for (i = 0; i < AGENT_CONNS; i++)
		conns[i].fd = -1;
	for (;;) {
		struct pollfd p[AGENT_CONNS + 1];
		int n = 1, map[AGENT_CONNS + 1];
		unsigned long long now;

		p[0] = (struct pollfd){ .fd = sock, .events = POLLIN };
		for (i = 0; i < AGENT_CONNS; i++)
			if (conns[i].fd >= 0) {
				p[n] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
				map[n++] = i;
			}
		/* Woken by the sockets; every 20 ms for a waiting request's answer. */
		if (agent_syscall(SYS_poll, (long)p, n, 20, 0, 0) < 0)
			continue;
		now = agent_now_ms();
		for (i = 0; i < AGENT_CONNS; i++) {
			struct agent_conn *c = &conns[i];

			if (c->fd < 0)
				continue;
			if (c->waiting &&
			    __atomic_load_n(&mbox.state, __ATOMIC_SEQ_CST) == MB_ANSWERED) {
				agent_say(c->fd, mbox.answer);
				agent_say(c->fd, "\n");
				__atomic_store_n(&mbox.state, MB_EMPTY, __ATOMIC_SEQ_CST);
				agent_close(c);
			} else if (!c->waiting && now - c->since_ms > AGENT_IDLE_MS) {
				agent_say(c->fd, "error: no request within 2 s; closed\n");
				agent_close(c);
			}
		}
		for (i = 1; i < n; i++) {
			struct agent_conn *c = &conns[map[i]];

			if (c->fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) && agent_read(c))
				agent_close(c);
		}
		if (p[0].revents & POLLIN) {
			long fd = agent_syscall(SYS_accept4, sock, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

			if (fd >= 0)
				agent_accept(conns, fd);
		}
	}
	return 0;
}

#define AGENT_STACK (128 * 1024)

/* Binds the update socket: the abstract name "dsu.<pid>" dsuctl looks for
 * first. Another user may have bound that name before this process existed
 * (abstract names have no owner): then a name of the form
 * "dsu.<pid>.<random>", which dsuctl finds in /proc/net/unix, and a warning.
 * dsuctl talks only to the socket whose peer is the process itself
 * (SO_PEERCRED), so a squatter gets no request. -1 = no socket. */
static int bind_update_socket(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	unsigned char nonce[8];
	int sock, n, attempt, pid = (int)getpid();

	for (attempt = 0; attempt < 4; attempt++) {
		sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sock < 0)
			break;
		if (attempt == 0) {
			n = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "dsu.%d", pid);
		} else {
			if (getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce)) {
				close(sock);
				break;
			}
			n = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
				     "dsu.%d.%02x%02x%02x%02x%02x%02x%02x%02x", pid, nonce[0], nonce[1],
				     nonce[2], nonce[3], nonce[4], nonce[5], nonce[6], nonce[7]);
		}
		if (!bind(sock, (struct sockaddr *)&addr, offsetof(struct sockaddr_un, sun_path) + 1 + n) &&
		    !listen(sock, 16)) {
			if (attempt)
				fprintf(stderr, "dsu: warning: the update socket name @dsu.%d was taken by "
					"another process; listening on @%s instead (dsuctl finds it)\n",
					pid, addr.sun_path + 1);
			return sock;
		}
		close(sock);
		if (errno != EADDRINUSE)
			break;
	}
	fprintf(stderr, "dsu: error: cannot listen for updates (@dsu.%d): %s; this process "
		"cannot be updated or inspected by dsuctl\n", pid, strerror(errno));
	return -1;
}

static void start_listener(void)
{
	sigset_t all, old;
	void *stack;
	int sock;

	/* Load the unwinder now, not in the middle of an update's pause. */
	first_active(NULL, 0);
	pthread_mutex_lock(&lock);
	ensure_core();
	publish();
	pthread_mutex_unlock(&lock);
	sock = bind_update_socket();
	if (sock < 0)
		return;
	stack = mmap(NULL, AGENT_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		     -1, 0);
	if (stack == MAP_FAILED) {
		fprintf(stderr, "dsu: error: cannot start the update agent: %s\n", strerror(errno));
		close(sock);
		return;
	}
	agent_sock = sock;
	/* The agent inherits the mask: no signal handler of the program ever
	 * runs on it (it has no TLS of its own). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (clone(agent_main, (char *)stack + AGENT_STACK,
		  CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM,
		  (void *)(intptr_t)sock) < 0) {
		fprintf(stderr, "dsu: error: cannot start the update agent: %s\n", strerror(errno));
		munmap(stack, AGENT_STACK);
		close(sock);
		agent_sock = -1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
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
	pending = 0;
	/* The parent's agent did not come along; its socket must not outlive
	 * the parent here (dsuctl would connect and wait for nobody). */
	if (agent_sock >= 0)
		close(agent_sock);
	agent_sock = -1;
	__atomic_store_n(&mbox.state, MB_EMPTY, __ATOMIC_SEQ_CST);
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
				say(why, whylen, "thread %u at %s: %s", self->id, where, patch->unsafe[i].why);
				return 0;
			}
		return 1;
	}
	if (req.op == OP_APPLY) {
		void **fns = calloc(a->nfuncs + 1, sizeof(void *));
		unsigned int n = dsu_core_apply_code(a, fns, a->nfuncs);

		return !busy(a, fns, n, 0, why, whylen);
	} else {
		struct dsu_applied *top = core.top;
		unsigned int max = top->nfuncs + top->patch->nnew_funcs + 1;
		void **fns = calloc(max, sizeof(void *));
		unsigned int n = dsu_core_revert_code(&core, fns, max);

		return !busy(top, fns, n, 1, why, whylen);
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
	if (!req.from_program && !__atomic_compare_exchange_n(&mbox.state, &st, MB_COMMITTING, 0,
							      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		take_mbox();
		return 0;
	}

	/* The checks were made as each thread parked; try_* repeat the
	 * activeness check on this thread only where no analysis exists. */
	if (req.op == OP_APPLY && req.prepared->patch->analysed) {
		unsigned long long t0 = now_ns();

		dsu_core_commit(&core, req.prepared);
		req.prepared->pause_ns = now_ns() - t0;
		keep_patch_file(req.prepared);
		say(req.msg, sizeof(req.msg), "applied %s (level %u): %u function%s replaced, %u added; "
		    "pause %.1f us; prepare %.1f us; %u thread%s at safe points",
		    req.prepared->patch->name, req.prepared->level, req.prepared->nfuncs,
		    req.prepared->nfuncs == 1 ? "" : "s", req.prepared->patch->nnew_funcs,
		    req.prepared->pause_ns / 1000.0, req.prepared->prepare_ns / 1000.0, nthreads,
		    nthreads == 1 ? "" : "s");
		ok = 1;
	} else if (req.op == OP_APPLY) {
		ok = try_apply(req.prepared, req.msg, sizeof(req.msg), why, sizeof(why));
	} else {
		ok = try_revert(req.msg, sizeof(req.msg), why, sizeof(why));
	}
	if (!ok) {
		snprintf(req.waiting, sizeof(req.waiting), "%s", why);
		if (!req.from_program)
			__atomic_store_n(&mbox.state, MB_TAKEN, __ATOMIC_SEQ_CST);
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

int dsu_update_point(const char *file, int line)
{
	struct timespec deadline;
	unsigned long ms;
	int done = 0;

	/* The fast path is three loads: started, self (TLS) and pending. */
	if (__builtin_expect(!__atomic_load_n(&started, __ATOMIC_ACQUIRE), 0))
		pthread_once(&listener_once, init_once);
	if (__builtin_expect(!self, 0))
		register_thread();
	if (__builtin_expect(!__atomic_load_n(&pending, __ATOMIC_ACQUIRE), 1))
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
