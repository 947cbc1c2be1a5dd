#include <stddef.h>
struct word { struct word *next; char *text; unsigned hash, count; };
struct table { struct word *head; size_t distinct; };
struct table_ops {
  void (*add)(struct table *, const char *);
  int (*compare)(const void *, const void *);
};
extern const struct table_ops table_ops;
void table_add(struct table *t, const char *text);
size_t table_sorted(struct table *t, struct word **out, size_t max);
