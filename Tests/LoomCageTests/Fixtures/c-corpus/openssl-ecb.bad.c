#include <openssl/evp.h>

int setup(EVP_CIPHER_CTX *ctx, const unsigned char *key) {
  return EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL);
}
