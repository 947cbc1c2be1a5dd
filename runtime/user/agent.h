/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control agent (agent.c) and what it shares with the program side
 * (dsu_user.c): the mailbox a request is posted in, the status text the
 * program publishes, and the flag that sends the program's next update point
 * to look at them.
 */
#ifndef DSU_AGENT_H
#define DSU_AGENT_H

#include "internal.h"

#include <limits.h>

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
 * the agent posts a request in the mailbox and raises `dsu_request_pending`; the next
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

struct dsu_mailbox {
	int state; /* enum mbox_state, atomic */
	int op;    /* OP_APPLY, OP_REVERT */
	char path[PATH_MAX];
	char answer[1024]; /* "ok: ..." or "error: ..." */
};

struct status_text {
	unsigned int seq; /* odd while the program writes */
	int pending_is_mbox; /* the pending line is about the mailbox's request */
	char text[4096];  /* the status lines, without the pending line */
	char pending[512]; /* "pending: ...\n" or "" */
	char waiting[256]; /* why the pending request waits, or "" */
};

enum dsu_op { OP_NONE, OP_APPLY, OP_REVERT };

DSU_HIDDEN extern struct dsu_mailbox dsu_mbox;
DSU_HIDDEN extern struct status_text dsu_pub;
/* Read without the lock by dsu_update_point(): a request waits. */
DSU_HIDDEN extern volatile int dsu_request_pending;

/* Binds the update socket and starts the agent on it; the socket, or -1
 * (said on stderr: the process cannot be updated). */
DSU_HIDDEN int dsu_agent_start(void);

#endif
