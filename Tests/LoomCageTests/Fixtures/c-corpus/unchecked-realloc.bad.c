#include <stdlib.h>

struct vec { int *data; size_t len; };

void push(struct vec *v, int x) {
  int *grown = realloc(v->data, (v->len + 1) * sizeof(int));
  grown[v->len] = x;
  v->data = grown;
  v->len++;
}
