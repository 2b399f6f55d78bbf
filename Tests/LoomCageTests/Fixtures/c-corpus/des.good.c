#include <wolfssl/wolfcrypt/aes.h>

int encrypt_record(Aes *aes, const byte *key, const byte *iv, byte *out, const byte *in, word32 sz, byte *tag) {
  int ret = wc_AesGcmSetKey(aes, key, 32);
  if (ret != 0) return ret;
  return wc_AesGcmEncrypt(aes, out, in, sz, iv, 12, tag, 16, NULL, 0);
}
