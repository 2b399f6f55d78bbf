#include <unistd.h>

void run_script(const char *user_cmd) {
  execl("/bin/sh", "sh", "-c", user_cmd, (char *)0);
}
