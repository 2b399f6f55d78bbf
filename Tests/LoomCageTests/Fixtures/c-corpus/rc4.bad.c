#include <openssl/rc4.h>

void scramble(const unsigned char *k, int klen, const unsigned char *in, unsigned char *out, size_t n) {
  RC4_KEY key;
  RC4_set_key(&key, klen, k);
  RC4(&key, n, in, out);
}
