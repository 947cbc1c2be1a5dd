// SPDX-License-Identifier: GPL-2.0
/*
 * dsuctl: asks a running program built with dsu-cc to apply or revert a
 * patch, or to say where it stands.
 *
 *   dsuctl apply PID PATCH.so [--timeout SECONDS]
 *   dsuctl revert PID [--timeout SECONDS]
 *   dsuctl status PID
 *
 * Exit status: 0 done; 1 refused (the message says why; nothing changed);
 * 2 usage; 3 cannot reach the process; 4 timed out (the request was
 * cancelled: the program did not reach a safe update point in time).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: dsuctl apply PID PATCH.so [--timeout SECONDS]\n"
			"       dsuctl revert PID [--timeout SECONDS]\n"
			"       dsuctl status PID\n");
	return 2;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The effective uid of process pid from /proc (readable by anyone), or -1. */
static long process_uid(long pid)
{
	char path[64], line[256];
	long uid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long real, eff;

		if (sscanf(line, "Uid: %lu %lu", &real, &eff) == 2) {
			uid = (long)eff;
			break;
		}
	}
	if (f)
		fclose(f);
	return uid;
}

/* A connection to the abstract socket `name` whose peer is process pid
 * itself (SO_PEERCRED, set by the kernel when the process listened), or -1.
 * Anyone can bind an abstract name: a socket held by another process is
 * never sent the request. `quiet`: no warning for a name that is not there. */
static int connect_to(const char *name, long pid, int quiet)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t n = strlen(name);
	long uid;
	int fd;

	if (n >= sizeof(addr.sun_path) - 1)
		return -1;
	memcpy(addr.sun_path + 1, name, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, offsetof(struct sockaddr_un, sun_path) + 1 + n)) {
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		fprintf(stderr, "dsuctl: cannot check who holds @%s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	uid = process_uid(pid);
	if (cred.pid != pid || uid < 0 || (long)cred.uid != uid) {
		if (!quiet || cred.pid != pid)
			fprintf(stderr, "dsuctl: warning: @%s is held by process %d (uid %u), not by "
				"process %ld: not talking to it\n", name, (int)cred.pid,
				(unsigned int)cred.uid, pid);
		close(fd);
		return -1;
	}
	return fd;
}

/* The process's update socket: "dsu.<pid>", or, where another process took
 * that name first, the "dsu.<pid>.<random>" the runtime bound instead (from
 * /proc/net/unix, whose last column is the name, '@' for abstract ones). */
static int connect_to_process(long pid)
{
	char name[108], prefix[64], line[512];
	int fd;
	FILE *f;

	snprintf(name, sizeof(name), "dsu.%ld", pid);
	fd = connect_to(name, pid, 1);
	if (fd >= 0)
		return fd;
	snprintf(prefix, sizeof(prefix), "@dsu.%ld.", pid);
	f = fopen("/proc/net/unix", "re");
	while (f && fd < 0 && fgets(line, sizeof(line), f)) {
		char *at = strstr(line, prefix);

		if (!at || (at > line && at[-1] != ' '))
			continue;
		at[strcspn(at, " \n")] = 0;
		fd = connect_to(at + 1, pid, 0);
	}
	if (f)
		fclose(f);
	return fd;
}

int main(int argc, char **argv)
{
	char request[PATH_MAX + 16], buf[4096], last[4096] = "";
	double timeout = 30, deadline;
	const char *cmd, *pid;
	int fd, n, i, cancelled = 0, send_failed = 0, read_failed = 0;
	size_t have = 0;

	if (argc < 3)
		return usage();
	cmd = argv[1];
	pid = argv[2];
	for (i = 3; i < argc; i++)
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = atof(argv[i + 1]);
			for (int j = i; j + 2 <= argc; j++)
				argv[j] = argv[j + 2];
			argc -= 2;
			break;
		}
	if (!strcmp(cmd, "apply") && argc == 4) {
		char path[PATH_MAX];

		if (!realpath(argv[3], path)) {
			fprintf(stderr, "dsuctl: %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
		snprintf(request, sizeof(request), "apply %s\n", path);
	} else if ((!strcmp(cmd, "revert") || !strcmp(cmd, "status")) && argc == 3) {
		snprintf(request, sizeof(request), "%s\n", cmd);
	} else {
		return usage();
	}
	if (strspn(pid, "0123456789") != strlen(pid) || !*pid)
		return usage();

	/* A closed connection is an error to report, not a signal to die of. */
	signal(SIGPIPE, SIG_IGN);
	fd = connect_to_process(atol(pid));
	if (fd < 0) {
		if (kill(atoi(pid), 0) && errno == ESRCH)
			fprintf(stderr, "dsuctl: no process %s\n", pid);
		else
			fprintf(stderr, "dsuctl: process %s does not listen for updates (not built "
				"with dsu-cc, or it has not reached an update point yet)\n", pid);
		return 3;
	}
	errno = 0;
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		/* The process may have answered before it closed (a refusal):
		 * that answer is the reason. */
		send_failed = errno ? errno : EIO;
	}
	deadline = now_s() + timeout;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait_ms = (int)((deadline - now_s()) * 1000);

		if (!cancelled && wait_ms <= 0 && !send_failed) {
			/* The runtime answers with the outcome: cancelled, or done
			 * if the program got there first. */
			(void)!write(fd, "cancel\n", 7);
			cancelled = 1;
		}
		if (poll(&p, 1, cancelled ? 5000 : (wait_ms > 0 ? wait_ms : 0)) == 0) {
			if (cancelled) {
				fprintf(stderr, "dsuctl: process %s does not answer\n", pid);
				return 3;
			}
			continue;
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			read_failed = errno;
		if (n <= 0)
			break;
		have += n;
		buf[have] = 0;
		/* Print complete lines; remember the last one. */
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			printf("%s\n", line);
			fflush(stdout);
			snprintf(last, sizeof(last), "%s", line);
			line = nl + 1;
		}
		have = strlen(line);
		memmove(buf, line, have + 1);
	}
	close(fd);
	if (!strncmp(last, "ok", 2))
		return 0;
	if (cancelled && strstr(last, "cancelled"))
		return 4;
	if (!last[0]) {
		if (send_failed || read_failed)
			fprintf(stderr, "dsuctl: the connection to process %s failed: %s\n", pid,
				strerror(send_failed ? send_failed : read_failed));
		else
			fprintf(stderr, "dsuctl: process %s closed the connection without an answer\n",
				pid);
		return 3;
	}
	return 1;
}
