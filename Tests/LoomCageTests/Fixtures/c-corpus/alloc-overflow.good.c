#include <stdlib.h>
#include <stdint.h>

struct record { uint32_t id; char name[60]; };

struct record *alloc_records(size_t count) {
  if (count > SIZE_MAX / sizeof(struct record)) return NULL;
  struct record *r = malloc(count * sizeof(struct record));
  if (r == NULL) return NULL;
  return r;
}
