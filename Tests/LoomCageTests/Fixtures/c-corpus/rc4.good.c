#include <openssl/evp.h>

int scramble(EVP_CIPHER_CTX *ctx, const unsigned char *k, const unsigned char *nonce) {
  return EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, k, nonce);
}
