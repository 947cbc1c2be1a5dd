/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of the user-space runtime (libdsu-rt.a) share with each
 * other and with nobody else. Programs are linked with --export-dynamic (so
 * that patches bind to their globals): everything declared here is hidden,
 * or it would be exported from every program and could collide with its
 * own names. The runtime's public face is <dsu.h> and <dsu/abi.h>.
 */
#ifndef DSU_USER_INTERNAL_H
#define DSU_USER_INTERNAL_H

#include "dsu_core.h"
#include "dsu_registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* libdsu-rt.a is compiled with -fvisibility=hidden; what patches and the
 * program call (<dsu.h>, <dsu/abi.h>) is marked DSU_PUBLIC where defined. */
#define DSU_HIDDEN __attribute__((visibility("hidden")))
#define DSU_PUBLIC __attribute__((visibility("default")))

/* registry.c: the program's descriptors (the sections the linker gathered)
 * in the shared registry (runtime/core/dsu_registry.h), as the core's
 * environment. */
DSU_HIDDEN void dsu_user_registry_build(void);
DSU_HIDDEN extern struct dsu_registry dsu_user_registry;
DSU_HIDDEN extern const struct dsu_env dsu_user_env;

/* update.c: apply and revert (the shared core, dsu_user_core, made on first
 * use by dsu_ensure_core()). The callers serialize; a prepared patch's
 * handle is its struct dsu_patch_file. */
DSU_HIDDEN extern struct dsu_core dsu_user_core;
DSU_HIDDEN void dsu_ensure_core(void);
/* Loads, checks and prepares the patch file at path: 0, or -1 with msg. */
DSU_HIDDEN int dsu_prepare_file(const char *path, struct dsu_applied **out, char *msg,
				unsigned long len);
/* Install a prepared patch / remove the top one here and now, unless code
 * they change is active on this thread: 1 = done (msg says so), 0 = not
 * (why says what is active). */
DSU_HIDDEN int dsu_try_apply(struct dsu_applied *a, char *msg, unsigned long len, char *why,
			     unsigned long whylen);
DSU_HIDDEN int dsu_try_revert(char *msg, unsigned long len, char *why, unsigned long whylen);
/* Whether one of fns[0..n) (the code an apply or revert of `a` must not find
 * running) is active on this thread; says which in `why`. Frees fns. */
DSU_HIDDEN int dsu_code_busy(struct dsu_applied *a, void **fns, unsigned int n, int revert,
			     char *why, unsigned long whylen);
/* An applied patch's file stays mapped for good; an unapplied one goes. */
DSU_HIDDEN void dsu_keep_patch_file(struct dsu_applied *a);
DSU_HIDDEN void dsu_discard_unapplied(struct dsu_applied *a);

/* A message into a caller's buffer, which may be NULL or empty. */
static inline __attribute__((format(printf, 3, 4))) void dsu_say(char *msg, unsigned long len,
								  const char *fmt, ...)
{
	va_list ap;

	if (!msg || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

static inline unsigned long long dsu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* stack_check.c: index of the first of fns[0..n) active on the calling
 * thread's stack, or -1. fns == NULL, n == 0 loads the unwinder (done before
 * any update, so it is not loaded in an update's pause). */
DSU_HIDDEN int dsu_first_active(void **fns, unsigned int n);

#endif
