static inline int header_inline(int x) { return x + 10; }
static inline int header_unused(int x) { return x; }
static int header_static(int x) { return x; }
