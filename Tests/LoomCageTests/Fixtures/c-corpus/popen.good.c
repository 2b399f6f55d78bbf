#include <stdio.h>
#include <dirent.h>

void list_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d) closedir(d);
  FILE *p = popen("date", "r");
  if (p) pclose(p);
}
