#include <unistd.h>

int read_header(int fd, size_t want) {
  char header[32];
  ssize_t got = read(fd, header, want);
  return got > 0 ? header[0] : -1;
}
