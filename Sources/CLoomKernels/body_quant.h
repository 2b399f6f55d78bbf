// Fused dequantizing matrix products over bitsandbytes' weight formats, y[m, n] = x[m, :] · W[n, :]
// for rows n in [n0, n1): 4-bit codes (two per byte, the first in the high nibble) looked up in a
// 16-entry code book and scaled per block of `bs` weights, or int8 codes scaled per row. One row
// (decode) dots the codes with x and scales each block's partial sum, so no weight is ever stored
// in float; several rows dequantize W's row once into `wrow` and dot it with each x row.

// 16 consecutive 4-bit codes (8 bytes) as code-book values, in VW-wide pieces.
static inline void q4_load16(const uint8_t *p, const float *lut, vf *out) {
#if VW == 16
  __m128i b = _mm_loadl_epi64((const __m128i *)p);
  __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0F));
  __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0F));
  __m512i idx = _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(hi, lo));
  out[0] = _mm512_permutexvar_ps(idx, _mm512_loadu_ps(lut));
#elif VW == 8
  __m128i b = _mm_loadl_epi64((const __m128i *)p);
  __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0F));
  __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0F));
  __m128i both = _mm_unpacklo_epi8(hi, lo);
  const vf t0 = _mm256_loadu_ps(lut), t1 = _mm256_loadu_ps(lut + 8);
  for (int h = 0; h < 2; h++) {
    __m256i idx = _mm256_cvtepu8_epi32(h ? _mm_srli_si128(both, 8) : both);
    // permutevar reads the low 3 bits; bit 3 (moved to the sign) picks the upper half of the book.
    vf upper = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));
    out[h] = _mm256_blendv_ps(_mm256_permutevar8x32_ps(t0, idx), _mm256_permutevar8x32_ps(t1, idx), upper);
  }
#else
  for (int i = 0; i < 8; i++) {
    out[2 * i] = lut[p[i] >> 4];
    out[2 * i + 1] = lut[p[i] & 15];
  }
#endif
}

// VW consecutive int8 codes as floats.
static inline vf q8_load(const int8_t *p) {
#if VW == 16
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
#elif VW == 8
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
#else
  return (float)p[0];
#endif
}

static inline float q_dot(const float *a, const float *b, int64_t k) {
  vf acc0 = vset(0.0f), acc1 = vset(0.0f);
  int64_t i = 0;
  for (; i + 2 * VW <= k; i += 2 * VW) {
    acc0 = vfma(vld(a + i), vld(b + i), acc0);
    acc1 = vfma(vld(a + i + VW), vld(b + i + VW), acc1);
  }
  for (; i < k; i += VW) acc0 = vfma(ldn(a + i, k - i), ldn(b + i, k - i), acc0);
  return vhsum(acc0 + acc1);
}

// k and bs are multiples of 16; wrow holds k floats when m > 1.
static void k_q4_rows(const float *x, int64_t m, int64_t k, const uint8_t *w, const float *absmax, int64_t bs,
                      const float *lut, const float *bias, float *y, int64_t n_total, int64_t n0, int64_t n1,
                      float *wrow) {
  const int64_t blocks = k / bs;
  for (int64_t n = n0; n < n1; n++) {
    const uint8_t *wr = w + n * (k / 2);
    const float *am = absmax + n * blocks;
    const float b = bias ? bias[n] : 0.0f;
    if (m == 1) {
      // Independent accumulators per 16-code piece, so the FMAs do not wait on each other.
      vf total = vset(0.0f);
      for (int64_t blk = 0; blk < blocks; blk++) {
        vf acc[16 / VW];
        for (int h = 0; h < 16 / VW; h++) acc[h] = vset(0.0f);
        const float *xb = x + blk * bs;
        const uint8_t *pb = wr + blk * (bs / 2);
        for (int64_t j = 0; j < bs; j += 16) {
          vf c[16 / VW];
          q4_load16(pb + j / 2, lut, c);
          for (int h = 0; h < 16 / VW; h++) acc[h] = vfma(vld(xb + j + h * VW), c[h], acc[h]);
        }
        vf sum = acc[0];
        for (int h = 1; h < 16 / VW; h++) sum = sum + acc[h];
        total = vfma(sum, vset(am[blk]), total);
      }
      y[n] = vhsum(total) + b;
      continue;
    }
    for (int64_t blk = 0; blk < blocks; blk++) {
      const vf s = vset(am[blk]);
      const uint8_t *pb = wr + blk * (bs / 2);
      float *ob = wrow + blk * bs;
      for (int64_t j = 0; j < bs; j += 16) {
        vf c[16 / VW];
        q4_load16(pb + j / 2, lut, c);
        for (int h = 0; h < 16 / VW; h++) vst(ob + j + h * VW, c[h] * s);
      }
    }
    for (int64_t r = 0; r < m; r++) y[r * n_total + n] = q_dot(x + r * k, wrow, k) + b;
  }
}

// int8 codes [n, k] with per-row scales: W[n, :] = codes · scale[n] (scale = SCB / 127). k % 16 == 0.
static void k_q8_rows(const float *x, int64_t m, int64_t k, const int8_t *w, const float *scale,
                      const float *bias, float *y, int64_t n_total, int64_t n0, int64_t n1, float *wrow) {
  for (int64_t n = n0; n < n1; n++) {
    const int8_t *wr = w + n * k;
    const float b = bias ? bias[n] : 0.0f;
    if (m == 1) {
      vf acc0 = vset(0.0f), acc1 = vset(0.0f);
      int64_t i = 0;
      for (; i + 2 * VW <= k; i += 2 * VW) {
        acc0 = vfma(vld(x + i), q8_load(wr + i), acc0);
        acc1 = vfma(vld(x + i + VW), q8_load(wr + i + VW), acc1);
      }
      for (; i < k; i += VW) acc0 = vfma(vld(x + i), q8_load(wr + i), acc0);
      y[n] = vhsum(acc0 + acc1) * scale[n] + b;
      continue;
    }
    const vf s = vset(scale[n]);
    for (int64_t i = 0; i < k; i += VW) vst(wrow + i, q8_load(wr + i) * s);
    for (int64_t r = 0; r < m; r++) y[r * n_total + n] = q_dot(x + r * k, wrow, k) + b;
  }
}
