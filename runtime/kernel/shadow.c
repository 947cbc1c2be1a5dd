// SPDX-License-Identifier: GPL-2.0
#include "internal.h"

/*
 * Shadow data (abi.h): fields patches add to structs that are not wrapped,
 * keyed by (object, field id), as livepatch's shadow variables. Reached from
 * any context, so allocated atomically under a spinlock.
 */
struct dsu_shadow {
	struct hlist_node node;
	const void *obj;
	unsigned long id;
	unsigned long size;
	unsigned char data[] __aligned(16);
};

static DEFINE_HASHTABLE(dsu_shadow_hash, 10);
static DEFINE_SPINLOCK(dsu_shadow_lock);
/* What a failed allocation gets instead of a NULL dereference (and a warning). */
static unsigned char dsu_shadow_scratch[256] __aligned(16);

void *__dsu_shadow(const void *obj, unsigned long id, unsigned long size)
{
	struct dsu_shadow *s, *n;
	unsigned long flags;

	spin_lock_irqsave(&dsu_shadow_lock, flags);
	hash_for_each_possible(dsu_shadow_hash, s, node, (unsigned long)obj)
		if (s->obj == obj && s->id == id)
			goto found;
	spin_unlock_irqrestore(&dsu_shadow_lock, flags);
	n = kzalloc(sizeof(*n) + size, GFP_ATOMIC);
	spin_lock_irqsave(&dsu_shadow_lock, flags);
	/* Another CPU may have made it meanwhile. */
	hash_for_each_possible(dsu_shadow_hash, s, node, (unsigned long)obj)
		if (s->obj == obj && s->id == id) {
			kfree(n);
			goto found;
		}
	if (!n) {
		spin_unlock_irqrestore(&dsu_shadow_lock, flags);
		WARN_ONCE(1, "dsu: no memory for shadow data of %p\n", obj);
		memset(dsu_shadow_scratch, 0, sizeof(dsu_shadow_scratch));
		return dsu_shadow_scratch;
	}
	n->obj = obj;
	n->id = id;
	n->size = size;
	hash_add(dsu_shadow_hash, &n->node, (unsigned long)obj);
	s = n;
found:
	WARN_ONCE(s->size < size, "dsu: shadow field %#lx used with size %lu, made with %lu\n",
		  id, size, s->size);
	spin_unlock_irqrestore(&dsu_shadow_lock, flags);
	return s->data;
}
EXPORT_SYMBOL(__dsu_shadow);

void *__dsu_shadow_release(const void *obj)
{
	struct dsu_shadow *s;
	struct hlist_node *tmp;
	unsigned long flags;
	HLIST_HEAD(gone);

	spin_lock_irqsave(&dsu_shadow_lock, flags);
	hash_for_each_possible_safe(dsu_shadow_hash, s, tmp, node, (unsigned long)obj)
		if (s->obj == obj) {
			hash_del(&s->node);
			hlist_add_head(&s->node, &gone);
		}
	spin_unlock_irqrestore(&dsu_shadow_lock, flags);
	hlist_for_each_entry_safe(s, tmp, &gone, node)
		kfree(s);
	return (void *)obj;
}
EXPORT_SYMBOL(__dsu_shadow_release);
