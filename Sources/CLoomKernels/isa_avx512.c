// AVX-512 variant: loops auto-vectorised at 512 bits, SLEEF's 16-wide vector math.
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), apply_to = function)

__m512 Sleef_expf16_u10avx512f(__m512);
__m512 Sleef_logf16_u10avx512f(__m512);
__m512 Sleef_tanhf16_u10avx512f(__m512);
__m512 Sleef_erff16_u10avx512f(__m512);
__m512 Sleef_sinf16_u10avx512f(__m512);
__m512 Sleef_cosf16_u10avx512f(__m512);


#define VEC16(name, fn, scalar)                                        \
  static void name(const float *x, float *y, int64_t n) {              \
    int64_t i = 0;                                                     \
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, fn(_mm512_loadu_ps(x + i))); \
    if (i < n) {                                                       \
      float in[16] = {0}, out[16];                                       \
      for (int64_t j = i; j < n; j++) in[j - i] = x[j];                \
      _mm512_storeu_ps(out, fn(_mm512_loadu_ps(in)));                  \
      for (int64_t j = i; j < n; j++) y[j] = out[j - i];               \
    }                                                                  \
  }
VEC16(vexp, Sleef_expf16_u10avx512f, expf)
VEC16(vlog, Sleef_logf16_u10avx512f, logf)
VEC16(vtanh, Sleef_tanhf16_u10avx512f, tanhf)
VEC16(verf, Sleef_erff16_u10avx512f, erff)
VEC16(vsin, Sleef_sinf16_u10avx512f, sinf)
VEC16(vcos, Sleef_cosf16_u10avx512f, cosf)

#define TABLE_NAME loom_isa_avx512
#include "isa_impl.h"

#pragma clang attribute pop
#endif
