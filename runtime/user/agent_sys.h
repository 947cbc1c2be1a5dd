/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the control agent (dsu_user.c, "the control agent") may use: it is a
 * bare clone() that shares the program thread's TLS pointer, so it makes raw
 * system calls (the libc wrappers write errno, a TLS variable) and formats
 * text itself (no stdio, no malloc, no locks).
 */
#ifndef DSU_AGENT_SYS_H
#define DSU_AGENT_SYS_H

#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>

/* Up to five arguments; the sixth is 0 (sendto's address length). Returns
 * the result or -errno. */
static inline long agent_syscall(long nr, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = 0;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline unsigned long long agent_now_ms(void)
{
	struct timespec ts = { 0, 0 };

	agent_syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

/* A line being built in a fixed buffer; what does not fit is cut. */
struct agent_text {
	char *buf;
	size_t len, cap; /* cap includes the terminating NUL */
};

static inline void agent_text_str(struct agent_text *t, const char *s)
{
	while (*s && t->len + 1 < t->cap)
		t->buf[t->len++] = *s++;
	t->buf[t->len] = 0;
}

static inline void agent_text_uint(struct agent_text *t, unsigned long long v)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n && t->len + 1 < t->cap)
		t->buf[t->len++] = digits[--n];
	t->buf[t->len] = 0;
}

#endif
