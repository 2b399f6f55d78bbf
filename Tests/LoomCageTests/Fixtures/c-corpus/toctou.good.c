#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

int append_log(const char *path, const char *line) {
  int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0) { close(fd); return -1; }
  FILE *f = fdopen(fd, "a");
  if (!f) { close(fd); return -1; }
  fputs(line, f);
  return fclose(f);
}
