#include <string.h>

void copy_name(char *dst_unused, const char *src) {
  char name[8];
  strncpy(name, src, 16);
  (void)dst_unused;
  (void)name;
}
