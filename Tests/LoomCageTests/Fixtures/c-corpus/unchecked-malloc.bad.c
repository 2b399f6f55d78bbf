#include <stdlib.h>
#include <string.h>

char *duplicate(const char *s) {
  size_t n = strlen(s) + 1;
  char *copy = malloc(n);
  memcpy(copy, s, n);
  return copy;
}
