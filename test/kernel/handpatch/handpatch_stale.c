// SPDX-License-Identifier: GPL-2.0
/* handpatch.c built against a unit hash the kernel does not have. */
#define HANDPATCH_STALE
#include "handpatch.c"
