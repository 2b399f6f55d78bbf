#include <openssl/evp.h>

int digest(EVP_MD_CTX *ctx, const void *msg, size_t len) {
  if (!EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) return 0;
  return EVP_DigestUpdate(ctx, msg, len);
}
