#include <stdlib.h>
#include <stdint.h>

void make_session_key(uint8_t *key, size_t len) {
  for (size_t i = 0; i < len; i++) {
    key[i] = (uint8_t)(rand() & 0xff);
  }
}
