#include <unistd.h>

void run_backup(void) {
  execl("/usr/bin/rsync", "rsync", "-a", "/srv/data", "/backup", (char *)0);
}
