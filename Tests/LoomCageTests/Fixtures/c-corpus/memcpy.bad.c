#include <string.h>
#include <stdint.h>

int parse_packet(const uint8_t *pkt, size_t pkt_len) {
  uint8_t payload[128];
  size_t n = pkt[0];
  memcpy(payload, pkt + 1, pkt_len - 1);
  return payload[0] + (int)n;
}
