#include <wolfssl/wolfcrypt/signature.h>

int sign_blob(const byte *data, word32 len, byte *sig, word32 *sig_len, RsaKey *key, WC_RNG *rng) {
  return wc_SignatureGenerate(WC_HASH_TYPE_SHA256, WC_SIGNATURE_TYPE_RSA_W_ENC, data, len, sig, sig_len, key,
                              sizeof(*key), rng);
}
