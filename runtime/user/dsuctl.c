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

int main(int argc, char **argv)
{
	char request[PATH_MAX + 16], buf[4096], last[4096] = "";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	double timeout = 30, deadline;
	const char *cmd, *pid;
	int fd, n, i, cancelled = 0;
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

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	n = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "dsu.%s", pid);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr,
			      offsetof(struct sockaddr_un, sun_path) + 1 + n)) {
		if (kill(atoi(pid), 0) && errno == ESRCH)
			fprintf(stderr, "dsuctl: no process %s\n", pid);
		else
			fprintf(stderr, "dsuctl: process %s does not listen for updates (not built "
				"with dsu-cc, or it has not reached an update point yet)\n", pid);
		return 3;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		fprintf(stderr, "dsuctl: cannot send the request: %s\n", strerror(errno));
		return 3;
	}
	deadline = now_s() + timeout;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait_ms = (int)((deadline - now_s()) * 1000);

		if (!cancelled && wait_ms <= 0) {
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
		fprintf(stderr, "dsuctl: process %s closed the connection without an answer\n", pid);
		return 3;
	}
	return 1;
}
