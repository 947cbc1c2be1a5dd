// Reading and sending files.
#include "server.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned long filesSent;
/* v2: files refused because of their contents. */
unsigned long errorCount;

/* v2: a file that is empty or holds a NUL byte is not sent. */
static int errorState(struct buffer b)
{
	return b.len == 0 || memchr(b.data, 0, b.len) != NULL;
}

struct buffer readFile(const char *root, const char *name)
{
	struct buffer b = { NULL, 0, 0 };
	char path[1024];
	int fd;

	if (strstr(name, "..") || snprintf(path, sizeof(path), "%s/%s", root, name) >= (int)sizeof(path))
		return b;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return b;
	b.found = 1;
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n <= 0)
			break;
		b.data = realloc(b.data, b.len + n);
		memcpy(b.data + b.len, chunk, n);
		b.len += n;
	}
	close(fd);
	return b;
}

void sendText(int sock, const char *text)
{
	send(sock, text, strlen(text), MSG_NOSIGNAL);
}

void sendFile(int sock, const char *root, const char *name)
{
	struct buffer b = readFile(root, name);
	char head[64];

	if (!b.found) {
		sendText(sock, "ERR no such file\n");
		return;
	}
	if (errorState(b)) {
		errorCount++;
		sendText(sock, "ERR bad file\n");
		free(b.data);
		return;
	}
	snprintf(head, sizeof(head), "OK %zu\n", b.len);
	sendText(sock, head);
	send(sock, b.data, b.len, MSG_NOSIGNAL);
	filesSent++;
	free(b.data);
}
