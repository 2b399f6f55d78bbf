#include <stdlib.h>

int process(size_t n) {
  char *tmp = malloc(n);
  if (!tmp) return -1;
  tmp[0] = 0;
  free(tmp);
  tmp = NULL;
  int rc = n > 10 ? 1 : 0;
  free(tmp);
  return rc;
}
