// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's admission rule (agent_peer.h). A peer may use the agent when,
 * as for ptrace(PTRACE_MODE_ATTACH) on this process, it is
 *   - root (uid 0 in this process's user namespace), or
 *   - this process's own user: the peer's uid equals the process's real,
 *     effective and saved uid, and the process is dumpable (a program that
 *     was privileged and changed its user id is not, so its new user cannot
 *     take over what it kept from its privileged past), or
 *   - a process with CAP_SYS_PTRACE in this user namespace (a capability in
 *     a user namespace of its own, `unshare -Ur`, does not count).
 * The credentials are the socket's (SO_PEERCRED, taken by the kernel at
 * connect()), not anything the peer says.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "agent_peer.h"

#include "agent_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

/* /proc/<pid>/<tail> */
static void proc_path(char *out, size_t cap, int pid, const char *tail)
{
	struct agent_text t = { out, 0, cap };

	agent_text_str(&t, "/proc/");
	agent_text_uint(&t, (unsigned int)pid);
	agent_text_str(&t, "/");
	agent_text_str(&t, tail);
}

/* The file's text, NUL-terminated; its length or -1. */
static long read_text(const char *path, char *buf, size_t cap)
{
	long fd = agent_syscall(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0);
	size_t n = 0;

	if (fd < 0)
		return -1;
	while (n + 1 < cap) {
		long got = agent_syscall(SYS_read, fd, (long)(buf + n), (long)(cap - 1 - n), 0, 0);

		if (got == -EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	agent_syscall(SYS_close, fd, 0, 0, 0, 0);
	buf[n] = 0;
	return (long)n;
}

/* The value after "\n<name>" in /proc's status text, or NULL. */
static const char *status_field(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *p = text;

	for (; p && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, name, len))
			return p + len;
	}
	return NULL;
}

static unsigned long long parse_number(const char **p, int base)
{
	unsigned long long v = 0;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	for (;; (*p)++) {
		int c = **p, d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return v;
		v = v * (unsigned long long)base + (unsigned long long)d;
	}
}

static int same_user_namespace(int pid)
{
	char mine[64], theirs[64], path[64];
	long a, b;

	proc_path(path, sizeof(path), pid, "ns/user");
	a = agent_syscall(SYS_readlinkat, AT_FDCWD, (long)"/proc/self/ns/user", (long)mine,
			  sizeof(mine) - 1, 0);
	b = agent_syscall(SYS_readlinkat, AT_FDCWD, (long)path, (long)theirs, sizeof(theirs) - 1, 0);
	return a > 0 && a == b && !memcmp(mine, theirs, (size_t)a);
}

/* Whether the peer holds CAP_SYS_PTRACE in this process's user namespace.
 * Its status must still show the peer's uid (the pid was not reused). */
static int has_ptrace_capability(const struct agent_peer *peer)
{
	char path[64], text[4096];
	const char *uid, *caps;

	proc_path(path, sizeof(path), peer->pid, "status");
	if (read_text(path, text, sizeof(text)) <= 0)
		return 0;
	uid = status_field(text, "Uid:");
	caps = status_field(text, "CapEff:");
	if (!uid || !caps)
		return 0;
	parse_number(&uid, 10); /* real */
	if (parse_number(&uid, 10) != peer->uid) /* effective */
		return 0;
	if (!(parse_number(&caps, 16) & (1ull << CAP_SYS_PTRACE)))
		return 0;
	return same_user_namespace(peer->pid);
}

int agent_peer_admit(int fd, struct agent_peer *peer, char *why, size_t len)
{
	struct ucred cred = { 0, 0, 0 };
	unsigned int credlen = sizeof(cred), ruid = 0, euid = 0, suid = 0;
	struct agent_text t = { why, 0, len };
	long dumpable, self;

	if (agent_syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, (long)&cred,
			  (long)&credlen) < 0) {
		agent_text_str(&t, "error: cannot tell who is asking (SO_PEERCRED); refused\n");
		return 0;
	}
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	agent_syscall(SYS_getresuid, (long)&ruid, (long)&euid, (long)&suid, 0, 0);
	dumpable = agent_syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (peer->uid == 0)
		return 1;
	if (peer->uid == ruid && ruid == euid && euid == suid && dumpable == 1)
		return 1;
	if (has_ptrace_capability(peer))
		return 1;
	self = agent_syscall(SYS_getpid, 0, 0, 0, 0, 0);
	agent_text_str(&t, "error: permission denied: uid ");
	agent_text_uint(&t, peer->uid);
	agent_text_str(&t, " may not update or inspect process ");
	agent_text_uint(&t, (unsigned long)self);
	if (ruid == euid && euid == suid && dumpable == 1) {
		agent_text_str(&t, " (only its user, uid ");
		agent_text_uint(&t, euid);
		agent_text_str(&t, ", or root may)\n");
	} else {
		agent_text_str(&t, " (only root may: the process changed its user id)\n");
	}
	return 0;
}
