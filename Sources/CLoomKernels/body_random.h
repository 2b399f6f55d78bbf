// Philox-4x32-10 fills (LoomCore's `Philox`, bit for bit): word i of the output is word i % 4 of
// the block at counter block0 + i / 4. Sixteen blocks at a time, lane by lane, so the 32×32→64
// products vectorize. Uniform: lo + span · (w >> 8) · 2⁻²⁴ (multiply, then add: no contraction,
// as Swift computes it); Bernoulli: w · 2⁻³² < p in double.
static void k_rand(int kind, uint64_t seed, uint64_t block0, float lo, float span, double p, float *out, int64_t n) {
#pragma clang fp contract(off)
  const uint32_t ks0 = (uint32_t)seed, ks1 = (uint32_t)(seed >> 32);
  for (int64_t base = 0; base < n; base += 64) {
    uint32_t c0[16], c1[16], c2[16], c3[16];
    for (int j = 0; j < 16; j++) {
      uint64_t c = block0 + (uint64_t)(base / 4) + (uint64_t)j;
      c0[j] = (uint32_t)c, c1[j] = (uint32_t)(c >> 32), c2[j] = 0, c3[j] = 0;
    }
    uint32_t k0 = ks0, k1 = ks1;
    for (int r = 0; r < 10; r++) {
      if (r) k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
      for (int j = 0; j < 16; j++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0[j], p1 = (uint64_t)0xCD9E8D57u * c2[j];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[j] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3[j] ^ k1;
        c1[j] = (uint32_t)p1, c3[j] = (uint32_t)p0, c0[j] = n0, c2[j] = n2;
      }
    }
    uint32_t w[64];
    for (int j = 0; j < 16; j++) w[4 * j] = c0[j], w[4 * j + 1] = c1[j], w[4 * j + 2] = c2[j], w[4 * j + 3] = c3[j];
    int64_t m = n - base < 64 ? n - base : 64;
    float *o = out + base;
    if (kind == LOOM_RAND_BERNOULLI) {
      for (int64_t i = 0; i < m; i++) o[i] = (double)w[i] * 0x1p-32 < p ? 1.0f : 0.0f;
    } else {
      for (int64_t i = 0; i < m; i++) {
        float u = (float)(w[i] >> 8) * 0x1p-24f;
        float t = span * u;
        o[i] = lo + t;
      }
    }
  }
}
