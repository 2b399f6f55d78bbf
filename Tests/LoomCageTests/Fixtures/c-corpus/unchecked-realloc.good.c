#include <stdlib.h>

struct vec { int *data; size_t len; };

int push(struct vec *v, int x) {
  int *grown = reallocarray(v->data, v->len + 1, sizeof(int));
  if (!grown) return -1;
  grown[v->len] = x;
  v->data = grown;
  v->len++;
  return 0;
}
