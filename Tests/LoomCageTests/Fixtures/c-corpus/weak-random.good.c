#include <stdint.h>
#include <sys/random.h>

int make_session_key(uint8_t *key, size_t len) {
  return getrandom(key, len, 0) == (ssize_t)len ? 0 : -1;
}
