// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow data (<dsu/abi.h>): fields a patch adds to a struct that is not
 * wrapped live beside its objects, keyed by the object's address.
 */
#include "internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Chained hash by object address; one lock (shadow fields are not hot). */
struct shadow {
	struct shadow *next;
	const void *obj;
	unsigned long id;
	unsigned long size;
	unsigned char data[] __attribute__((aligned(16)));
};

#define SHADOW_BUCKETS 1024
static struct shadow *shadows[SHADOW_BUCKETS];
static pthread_mutex_t shadow_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned int shadow_bucket(const void *obj)
{
	uintptr_t a = (uintptr_t)obj;

	return (unsigned int)((a >> 4) ^ (a >> 14)) % SHADOW_BUCKETS;
}

DSU_PUBLIC void *__dsu_shadow(const void *obj, unsigned long id, unsigned long size)
{
	struct shadow **b = &shadows[shadow_bucket(obj)], *s;

	pthread_mutex_lock(&shadow_lock);
	for (s = *b; s; s = s->next)
		if (s->obj == obj && s->id == id)
			break;
	if (!s) {
		s = calloc(1, sizeof(*s) + size);
		if (!s) {
			fprintf(stderr, "dsu: fatal: no memory for shadow data\n");
			abort();
		}
		s->obj = obj;
		s->id = id;
		s->size = size;
		s->next = *b;
		*b = s;
	} else if (s->size < size) {
		fprintf(stderr, "dsu: fatal: shadow field %#lx of %p used with size %lu, made with %lu\n",
			id, obj, size, s->size);
		abort();
	}
	pthread_mutex_unlock(&shadow_lock);
	return s->data;
}

DSU_PUBLIC void *__dsu_shadow_release(const void *obj)
{
	struct shadow **p, *s;

	pthread_mutex_lock(&shadow_lock);
	for (p = &shadows[shadow_bucket(obj)]; (s = *p);) {
		if (s->obj == obj) {
			*p = s->next;
			free(s);
		} else {
			p = &s->next;
		}
	}
	pthread_mutex_unlock(&shadow_lock);
	return (void *)obj;
}

