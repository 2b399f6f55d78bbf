#include <wolfssl/wolfcrypt/sha256.h>

int fingerprint(const byte *data, word32 len, byte *out) {
  wc_Sha256 sha;
  int ret = wc_InitSha256(&sha);
  if (ret != 0) return ret;
  wc_Sha256Update(&sha, data, len);
  return wc_Sha256Final(&sha, out);
}
