// SPDX-License-Identifier: GPL-2.0
/*
 * The control agent (agent.h): serves dsuctl on the process's update socket.
 * It runs on a bare clone() that shares the program thread's TLS, so it only
 * makes raw system calls and formats its own text (agent_sys.h); it admits
 * peers by agent_peer.c's rule, answers `status` from the published text,
 * and posts `apply`/`revert` in the mailbox for the program's next update
 * point, whose answer it passes back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "agent.h"

#include "agent_peer.h"
#include "agent_sys.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct dsu_mailbox dsu_mbox;
struct status_text dsu_pub;
volatile int dsu_request_pending;

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
		seq = __atomic_load_n(&dsu_pub.seq, __ATOMIC_ACQUIRE);
		memcpy(&copy, &dsu_pub, sizeof(copy));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || seq != __atomic_load_n(&dsu_pub.seq, __ATOMIC_RELAXED));
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
	if (!(st->pending_is_mbox && __atomic_load_n(&dsu_mbox.state, __ATOMIC_SEQ_CST) == MB_CANCELLED))
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
	if (apply && strlen(path) >= sizeof(dsu_mbox.path)) {
		agent_say(c->fd, "error: the patch path is too long\n");
		return 1;
	}
	/* The program resolves the path from its own working directory. */
	if (apply && path[0] != '/') {
		agent_say(c->fd, "error: the patch path must be absolute\n");
		return 1;
	}
	if (__atomic_load_n(&dsu_mbox.state, __ATOMIC_SEQ_CST) != MB_EMPTY) {
		agent_say(c->fd, "error: another update is pending\n");
		return 1;
	}
	dsu_mbox.op = apply ? OP_APPLY : OP_REVERT;
	if (apply)
		memcpy(dsu_mbox.path, path, strlen(path) + 1);
	__atomic_store_n(&dsu_mbox.state, MB_POSTED, __ATOMIC_SEQ_CST);
	__atomic_store_n(&dsu_request_pending, 1, __ATOMIC_SEQ_CST);
	agent_say(c->fd, "waiting for an update point\n");
	c->waiting = 1;
	return 0;
}

/* The client of the mailbox's request said "cancel" or hung up. 1 = close. */
static int agent_cancel(struct agent_conn *c)
{
	int st = MB_POSTED;

	if (__atomic_compare_exchange_n(&dsu_mbox.state, &st, MB_EMPTY, 0, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST)) {
		agent_say(c->fd, "error: cancelled before the program reached an update point\n");
		return 1;
	}
	if (st == MB_TAKEN && __atomic_compare_exchange_n(&dsu_mbox.state, &st, MB_CANCELLED, 0,
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
			    __atomic_load_n(&dsu_mbox.state, __ATOMIC_SEQ_CST) == MB_ANSWERED) {
				agent_say(c->fd, dsu_mbox.answer);
				agent_say(c->fd, "\n");
				__atomic_store_n(&dsu_mbox.state, MB_EMPTY, __ATOMIC_SEQ_CST);
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

int dsu_agent_start(void)
{
	sigset_t all, old;
	void *stack;
	int sock;

	sock = bind_update_socket();
	if (sock < 0)
		return -1;
	stack = mmap(NULL, AGENT_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		     -1, 0);
	if (stack == MAP_FAILED) {
		fprintf(stderr, "dsu: error: cannot start the update agent: %s\n", strerror(errno));
		close(sock);
		return -1;
	}
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
		sock = -1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return sock;
}
