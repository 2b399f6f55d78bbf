#include <wolfssl/wolfcrypt/aes.h>

int seal_block(Aes *aes, byte *out, const byte *in, word32 sz) {
  return wc_AesEcbEncrypt(aes, out, in, sz);
}
