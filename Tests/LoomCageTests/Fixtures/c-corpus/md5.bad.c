#include <wolfssl/wolfcrypt/md5.h>

int fingerprint(const byte *data, word32 len, byte *out) {
  wc_Md5 md5;
  wc_InitMd5(&md5);
  wc_Md5Update(&md5, data, len);
  return wc_Md5Final(&md5, out);
}
