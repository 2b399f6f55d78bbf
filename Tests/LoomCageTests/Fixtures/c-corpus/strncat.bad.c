#include <string.h>

void append_suffix(const char *suffix) {
  char path[64] = "/var/lib/app/";
  strncat(path, suffix, sizeof(path));
}
