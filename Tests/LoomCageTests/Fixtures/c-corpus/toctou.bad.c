#include <stdio.h>
#include <unistd.h>

int append_log(const char *path, const char *line) {
  if (access(path, W_OK) != 0) return -1;
  FILE *f = fopen(path, "a");
  if (!f) return -1;
  fputs(line, f);
  return fclose(f);
}
