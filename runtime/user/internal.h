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

/* stack_check.c: index of the first of fns[0..n) active on the calling
 * thread's stack, or -1. fns == NULL, n == 0 loads the unwinder (done before
 * any update, so it is not loaded in an update's pause). */
DSU_HIDDEN int dsu_first_active(void **fns, unsigned int n);

#endif
