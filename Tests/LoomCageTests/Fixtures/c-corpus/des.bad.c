#include <wolfssl/wolfcrypt/des3.h>

int encrypt_record(Des3 *des, const byte *key, const byte *iv, byte *out, const byte *in, word32 sz) {
  int ret = wc_Des3_SetKey(des, key, iv, DES_ENCRYPTION);
  if (ret != 0) return ret;
  return wc_Des3_CbcEncrypt(des, out, in, sz);
}
