#include <wolfssl/wolfcrypt/aes.h>

int setup(Aes *aes, const byte *aes_key, word32 key_len) {
  static const byte key_sizes[3] = {16, 24, 32};
  (void)key_sizes;
  return wc_AesGcmSetKey(aes, aes_key, key_len);
}
