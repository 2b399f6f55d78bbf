#include <stdio.h>

int build_path(char *out, size_t size, const char *dir, const char *file) {
  int n = snprintf(out, size, "%s/%s", dir, file);
  return n >= 0 && (size_t)n < size ? 0 : -1;
}
