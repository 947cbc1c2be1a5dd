// A small file server on a loopback socket, one thread, many clients, and an
// update point at the top of its loop: `dsuctl apply PID PATCH.so` updates it
// while clients stay connected.
//
//   server ROOT PORTFILE    serves files under ROOT; writes its port to PORTFILE
// Requests, one per line: GET name | PING | SLOW n | QUIT
#include "server.h"

#include <dsu.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 16

/* One connected client. Defined here, so dsu-cc wraps it: a patch may change
 * its layout while clients are connected (see v4). */
/* v4: per-client statistics (counted from the update on, for clients
 * connected before it: dsu-patchgen's transformer starts them at zero). */
struct clientStatistics {
	unsigned long requests;
	unsigned long unknown; /* requests answered with ERR unknown request */
};

struct clientState {
	int socket;
	struct clientStatistics statistics; /* v4 */
	char line[512]; /* the request being received */
	size_t len;
};

static struct clientState clients[MAX_CLIENTS];
static int nclients;
static unsigned long requests;

static void ping(int sock)
{
	char text[128];

	snprintf(text, sizeof(text), "PONG v1 requests=%lu\n", requests);
	sendText(sock, text);
}

/* A long request with update points inside: a patch that replaces this
 * function must wait until it has returned. */
static void slowRequest(int sock, int steps)
{
	for (int i = 0; i < steps; i++) {
		usleep(50000);
		dsu_update();
	}
	sendText(sock, "SLOW done v1\n");
}

/* v4: what this client and the server have served. */
static void stats(struct clientState *c)
{
	char text[128];

	snprintf(text, sizeof(text), "STATS client=%lu unknown=%lu clients=%d requests=%lu\n",
		 c->statistics.requests, c->statistics.unknown, nclients, requests);
	sendText(c->socket, text);
}

static int handleRequest(struct clientState *c, const char *root)
{
	requests++;
	c->statistics.requests++;
	if (!strncmp(c->line, "GET ", 4))
		sendFile(c->socket, root, c->line + 4);
	else if (!strcmp(c->line, "PING"))
		ping(c->socket);
	else if (!strncmp(c->line, "SLOW ", 5))
		slowRequest(c->socket, atoi(c->line + 5));
	else if (!strcmp(c->line, "STATS"))
		stats(c);
	else if (!strcmp(c->line, "QUIT"))
		return -1;
	else {
		c->statistics.unknown++;
		sendText(c->socket, "ERR unknown request\n");
	}
	return 0;
}

/* Reads what the client sent; runs each complete line. -1: drop it. */
static int serveClient(struct clientState *c, const char *root)
{
	ssize_t n = recv(c->socket, c->line + c->len, sizeof(c->line) - 1 - c->len, 0);
	char *nl;

	if (n <= 0)
		return -1;
	c->len += n;
	c->line[c->len] = 0;
	while ((nl = strchr(c->line, '\n'))) {
		*nl = 0;
		if (nl > c->line && nl[-1] == '\r')
			nl[-1] = 0;
		if (handleRequest(c, root) < 0)
			return -1;
		c->len -= nl + 1 - c->line;
		memmove(c->line, nl + 1, c->len + 1);
	}
	return c->len == sizeof(c->line) - 1 ? -1 : 0;
}

static int listenLoopback(const char *portFile)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	FILE *f;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) || listen(s, 8) ||
	    getsockname(s, (struct sockaddr *)&addr, &len)) {
		perror("server: listen");
		exit(1);
	}
	f = fopen(portFile, "w");
	fprintf(f, "%d\n", ntohs(addr.sin_port));
	fclose(f);
	return s;
}

/* One round of the loop: waits up to 100 ms, serves what arrived. */
static void serveOnce(int listener, const char *root)
{
	struct pollfd fds[MAX_CLIENTS + 1];

	fds[0] = (struct pollfd){ .fd = listener, .events = POLLIN };
	for (int i = 0; i < nclients; i++)
		fds[i + 1] = (struct pollfd){ .fd = clients[i].socket, .events = POLLIN };
	if (poll(fds, nclients + 1, 100) <= 0)
		return;
	for (int i = nclients - 1; i >= 0; i--) {
		if (!(fds[i + 1].revents & (POLLIN | POLLHUP)))
			continue;
		if (serveClient(&clients[i], root) < 0) {
			close(clients[i].socket);
			clients[i] = clients[--nclients];
		}
	}
	if ((fds[0].revents & POLLIN) && nclients < MAX_CLIENTS) {
		clients[nclients].socket = accept(listener, NULL, NULL);
		clients[nclients].len = 0;
		if (clients[nclients].socket >= 0)
			nclients++;
	}
}

/* main stays on the stack for good: it uses no wrapped type concretely, so
 * a patch changing struct clientState never has to replace it. */
int main(int argc, char **argv)
{
	int listener;

	if (argc != 3) {
		fprintf(stderr, "usage: server ROOT PORTFILE\n");
		return 2;
	}
	listener = listenLoopback(argv[2]);
	for (;;) {
		dsu_update(); /* the update point */
		serveOnce(listener, argv[1]);
	}
}
