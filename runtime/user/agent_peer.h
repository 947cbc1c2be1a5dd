/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who may talk to a process's update agent (docs/patch.md, "Who may update
 * a process"): the rule ptrace applies to the same process, taken from the
 * connecting socket's credentials (SO_PEERCRED).
 */
#ifndef DSU_AGENT_PEER_H
#define DSU_AGENT_PEER_H

#include "internal.h"

#include <stddef.h>

struct agent_peer {
	int pid;
	unsigned int uid;
};

/* 1: the peer connected on fd may apply, revert and read status (peer is
 * filled). 0: refused; `why` holds the answer line ("error: ...\n"). Runs on
 * the agent: raw system calls only (agent_sys.h). */
DSU_HIDDEN int agent_peer_admit(int fd, struct agent_peer *peer, char *why, size_t len);

#endif
