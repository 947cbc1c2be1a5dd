/* Reads text on stdin and prints the most frequent words. */
#include <ctype.h>
#include <stdio.h>
#include "count.h"

static int next_word(FILE *in, char *buf, size_t cap) {
  int c;
  size_t n = 0;
  while ((c = fgetc(in)) != EOF && !isalpha(c))
    ;
  while (c != EOF && isalpha(c)) {
    if (n + 1 < cap)
      buf[n++] = (char)tolower(c);
    c = fgetc(in);
  }
  buf[n] = 0;
  return n > 0;
}

int main(void) {
  struct table t = {0};
  char buf[64];
  while (next_word(stdin, buf, sizeof buf))
    table_ops.add(&t, buf);
  struct word *top[5];
  size_t n = table_sorted(&t, top, 5);
  printf("%zu distinct words; most frequent:\n", t.distinct);
  for (size_t i = 0; i < n; i++)
    printf("  %-10s %u\n", top[i]->text, top[i]->count);
  return 0;
}
