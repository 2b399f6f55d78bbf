#include <openssl/evp.h>

int setup(EVP_CIPHER_CTX *ctx, const unsigned char *key, const unsigned char *iv) {
  return EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, iv);
}
