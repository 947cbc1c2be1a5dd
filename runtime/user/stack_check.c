// SPDX-License-Identifier: GPL-2.0
/*
 * The stack check of the calling thread (internal.h): which of a patch's
 * functions are active on it. Frames are identified by the start of their
 * function's unwind region (_Unwind_GetRegionStart), which is the address
 * the registry holds for each version of a function.
 */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unwind.h>

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
int dsu_first_active(void **fns, unsigned int n)
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

