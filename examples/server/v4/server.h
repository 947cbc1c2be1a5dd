/* The example file server (after the Ginseng talk): shared declarations. */
#ifndef SERVER_H
#define SERVER_H
#include <stddef.h>

struct buffer {
	char *data;
	size_t len;
	int found;
};

struct buffer readFile(const char *root, const char *name);
void sendFile(int sock, const char *root, const char *name);
void sendText(int sock, const char *text);
#endif
