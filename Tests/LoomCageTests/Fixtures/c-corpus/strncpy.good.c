#include <string.h>

void copy_name(char *dst_unused, const char *src) {
  char name[8];
  strncpy(name, src, sizeof name - 1);
  name[sizeof name - 1] = '\0';
  (void)dst_unused;
}
