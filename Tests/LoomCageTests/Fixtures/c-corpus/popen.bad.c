#include <stdio.h>

void list_dir(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ls -l %s", dir);
  FILE *p = popen(cmd, "r");
  if (p) pclose(p);
}
