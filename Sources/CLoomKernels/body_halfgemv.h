// One-row products with bfloat16 weights (decode of a bf16 model): y = x · W with x and y in
// float32 and W read once, widened in registers (a bf16 is the top half of a float32). Two layouts:
// W stored [n, k] (nn.Linear's weight, the tied LM head): a dot product per output; W stored
// [k, n] (GPT-2's Conv1D): 4·VW outputs kept in registers while the rows stream by.

static inline float bf16_scalar(uint16_t h) {
  union {
    uint32_t u;
    float f;
  } v = {(uint32_t)h << 16};
  return v.f;
}

static inline vf bf16_ld(const uint16_t *p) {
#if VW == 16
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
#elif VW == 8
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
#else
  return bf16_scalar(p[0]);
#endif
}

// y[j] = Σ_i x[i] · W[j, i] for j in [n0, n1); W rows `ldw` apart.
static void k_bf16_gemv_dot(const float *x, const uint16_t *w, int64_t ldw, int64_t k, float *y, int64_t n0,
                            int64_t n1) {
  for (int64_t j = n0; j < n1; j++) {
    const uint16_t *wr = w + j * ldw;
    vf a0 = vset(0.0f), a1 = vset(0.0f), a2 = vset(0.0f), a3 = vset(0.0f);
    int64_t i = 0;
    for (; i + 4 * VW <= k; i += 4 * VW) {
      a0 = vfma(vld(x + i), bf16_ld(wr + i), a0);
      a1 = vfma(vld(x + i + VW), bf16_ld(wr + i + VW), a1);
      a2 = vfma(vld(x + i + 2 * VW), bf16_ld(wr + i + 2 * VW), a2);
      a3 = vfma(vld(x + i + 3 * VW), bf16_ld(wr + i + 3 * VW), a3);
    }
    for (; i + VW <= k; i += VW) a0 = vfma(vld(x + i), bf16_ld(wr + i), a0);
    float s = vhsum((a0 + a1) + (a2 + a3));
    for (; i < k; i++) s += x[i] * bf16_scalar(wr[i]);
    y[j] = s;
  }
}

// y[j] = Σ_i x[i] · W[i, j] for j in [n0, n1); W rows `ldw` apart.
static void k_bf16_gemv_axpy(const float *x, const uint16_t *w, int64_t ldw, int64_t k, float *y, int64_t n0,
                             int64_t n1) {
  int64_t j = n0;
  for (; j + 4 * VW <= n1; j += 4 * VW) {
    vf a0 = vset(0.0f), a1 = vset(0.0f), a2 = vset(0.0f), a3 = vset(0.0f);
    for (int64_t i = 0; i < k; i++) {
      const vf xi = vset(x[i]);
      const uint16_t *wr = w + i * ldw + j;
      a0 = vfma(xi, bf16_ld(wr), a0);
      a1 = vfma(xi, bf16_ld(wr + VW), a1);
      a2 = vfma(xi, bf16_ld(wr + 2 * VW), a2);
      a3 = vfma(xi, bf16_ld(wr + 3 * VW), a3);
    }
    vst(y + j, a0);
    vst(y + j + VW, a1);
    vst(y + j + 2 * VW, a2);
    vst(y + j + 3 * VW, a3);
  }
  for (; j + VW <= n1; j += VW) {
    vf a = vset(0.0f);
    for (int64_t i = 0; i < k; i++) a = vfma(vset(x[i]), bf16_ld(w + i * ldw + j), a);
    vst(y + j, a);
  }
  for (; j < n1; j++) {
    float s = 0.0f;
    for (int64_t i = 0; i < k; i++) s += x[i] * bf16_scalar(w[i * ldw + j]);
    y[j] = s;
  }
}
