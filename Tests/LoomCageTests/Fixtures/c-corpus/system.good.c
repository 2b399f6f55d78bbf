#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

int ping_host(const char *host) {
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/ping", "ping", "-c", "1", "--", host, (char *)0);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return system("uptime");
}
