// AVX2 + FMA variant: loops auto-vectorised at 256 bits, SLEEF's 8-wide vector math.
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

__m256 Sleef_expf8_u10avx2(__m256);
__m256 Sleef_logf8_u10avx2(__m256);
__m256 Sleef_tanhf8_u10avx2(__m256);
__m256 Sleef_erff8_u10avx2(__m256);
__m256 Sleef_sinf8_u10avx2(__m256);
__m256 Sleef_cosf8_u10avx2(__m256);


#define VEC8(name, fn, scalar)                                        \
  static void name(const float *x, float *y, int64_t n) {              \
    int64_t i = 0;                                                     \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, fn(_mm256_loadu_ps(x + i))); \
    if (i < n) {                                                       \
      float in[8] = {0}, out[8];                                       \
      for (int64_t j = i; j < n; j++) in[j - i] = x[j];                \
      _mm256_storeu_ps(out, fn(_mm256_loadu_ps(in)));                  \
      for (int64_t j = i; j < n; j++) y[j] = out[j - i];               \
    }                                                                  \
  }
VEC8(vexp, Sleef_expf8_u10avx2, expf)
VEC8(vlog, Sleef_logf8_u10avx2, logf)
VEC8(vtanh, Sleef_tanhf8_u10avx2, tanhf)
VEC8(verf, Sleef_erff8_u10avx2, erff)
VEC8(vsin, Sleef_sinf8_u10avx2, sinf)
VEC8(vcos, Sleef_cosf8_u10avx2, cosf)

#define TABLE_NAME loom_isa_avx2
#include "isa_impl.h"

#pragma clang attribute pop
#endif
