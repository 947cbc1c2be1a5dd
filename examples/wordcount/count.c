/* Word counting: a small table of words with static helpers and an ops table. */
#include <stdlib.h>
#include <string.h>
#include "count.h"

#define FOR_EACH_WORD(t, w) for (struct word *w = (t)->head; w; w = w->next)

static unsigned hash(const char *s) {
  unsigned h = 5381;
  while (*s)
    h = h * 33 + (unsigned char)*s++;
  return h;
}

static struct word *find(struct table *t, const char *text) {
  unsigned h = hash(text);
  FOR_EACH_WORD(t, w)
    if (w->hash == h && strcmp(w->text, text) == 0)
      return w;
  return NULL;
}

void table_add(struct table *t, const char *text) {
  struct word *w = find(t, text);
  if (!w) {
    w = calloc(1, sizeof *w);
    w->text = strdup(text);
    w->hash = hash(text);
    w->next = t->head;
    t->head = w;
    t->distinct++;
  }
  w->count++;
}

static int by_count(const void *a, const void *b) {
  const struct word *x = *(struct word *const *)a, *y = *(struct word *const *)b;
  return x->count != y->count ? (y->count > x->count) - (y->count < x->count) : strcmp(x->text, y->text);
}

const struct table_ops table_ops = { .add = table_add, .compare = by_count };

size_t table_sorted(struct table *t, struct word **out, size_t max) {
  struct word **all = malloc((t->distinct + 1) * sizeof *all);
  size_t n = 0;
  FOR_EACH_WORD(t, w)
    all[n++] = w;
  qsort(all, n, sizeof *all, table_ops.compare);
  if (n > max)
    n = max;
  memcpy(out, all, n * sizeof *out);
  free(all);
  return n;
}
