#include <stdlib.h>
#include <stdint.h>

struct record { uint32_t id; char name[60]; };

struct record *alloc_records(size_t count) {
  struct record *r = malloc(count * sizeof(struct record));
  if (r == NULL) return NULL;
  return r;
}
