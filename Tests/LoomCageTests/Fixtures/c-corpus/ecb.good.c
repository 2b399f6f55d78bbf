#include <wolfssl/wolfcrypt/aes.h>

int seal_block(Aes *aes, byte *out, const byte *in, word32 sz, const byte *nonce, byte *tag) {
  return wc_AesGcmEncrypt(aes, out, in, sz, nonce, 12, tag, 16, NULL, 0);
}
