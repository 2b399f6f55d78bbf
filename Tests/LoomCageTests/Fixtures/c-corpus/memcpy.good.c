#include <string.h>
#include <stdint.h>

int parse_packet(const uint8_t *pkt, size_t pkt_len) {
  uint8_t payload[128];
  if (pkt_len == 0 || pkt_len - 1 > sizeof payload) return -1;
  memcpy(payload, pkt + 1, pkt_len - 1);
  return payload[0];
}

static const char kGreeting[] = "hello";

int greet(void) {
  char msg[32];
  int n = (int)strlen(kGreeting);
  memcpy(msg, kGreeting, n);
  return msg[0];
}
