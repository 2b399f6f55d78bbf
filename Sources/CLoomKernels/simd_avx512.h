// 16-lane float vectors for the AVX-512 kernel table; mirrors simd_avx2.h.
#define VW 16
typedef __m512 vf;
typedef __mmask16 vmask;
static inline __mmask16 tailm(int64_t r) { return (__mmask16)((1u << r) - 1u); }
static inline vf vset(float x) { return _mm512_set1_ps(x); }
static inline vf vld(const float *p) { return _mm512_loadu_ps(p); }
static inline void vst(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf ldnf(const float *p, int64_t r, float fill) {
  if (r >= VW) return _mm512_loadu_ps(p);
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tailm(r), p);
}
static inline vf ldn(const float *p, int64_t r) {
  return r >= VW ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(tailm(r), p);
}
static inline void stn(float *p, vf v, int64_t r) {
  if (r >= VW) _mm512_storeu_ps(p, v);
  else _mm512_mask_storeu_ps(p, tailm(r), v);
}
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }  // b when unordered
static inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf vsqrt(vf a) { return _mm512_sqrt_ps(a); }
static inline vf vabs(vf a) { return _mm512_abs_ps(a); }
static inline vmask vgt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vmask vunord(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
static inline vmask vmor(vmask a, vmask b) { return (vmask)(a | b); }
static inline int vmany(vmask m) { return m != 0; }
static inline vmask vmnone(void) { return 0; }
static inline vf vsel(vmask m, vf t, vf f) { return _mm512_mask_blend_ps(m, f, t); }
static inline float vhsum(vf v) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline float vhmax(vf v) {
  __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#if defined(__linux__)
// SLEEF's vector functions take/return __m256 in zmm registers, but this file is
// compiled without -mavx, so clang would pass __m256 on the stack to an external
// function. We therefore call them through a small asm trampoline that follows
// the real AVX calling convention (args in zmm0/zmm1, result in zmm0, realigned
// stack below the red zone, every caller-saved register clobbered).
#define LOOM_SLEEF_CLOBBERS                                                                          \
  "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "xmm0", "xmm1", "xmm2", "xmm3", \
      "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",   \
      "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", \
      "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "memory", "cc"
#define LOOM_SLEEF1(fn)                                                                   \
  static inline vf loom_##fn(vf x) {                                                      \
    vf r;                                                                                 \
    __asm__ volatile("vmovups %1, %%zmm0\n\tmov %%rsp, %%r12\n\tsub $128, %%rsp\n\t"      \
                     "and $-64, %%rsp\n\tcall " #fn "@PLT\n\tmov %%r12, %%rsp\n\t"          \
                     "vmovups %%zmm0, %0"                                                 \
                     : "=m"(r) : "m"(x) : LOOM_SLEEF_CLOBBERS);                           \
    return r;                                                                             \
  }
#define LOOM_SLEEF2(fn)                                                                   \
  static inline vf loom_##fn(vf x, vf y) {                                                \
    vf r;                                                                                 \
    __asm__ volatile("vmovups %1, %%zmm0\n\tvmovups %2, %%zmm1\n\tmov %%rsp, %%r12\n\t"  \
                     "sub $128, %%rsp\n\tand $-64, %%rsp\n\tcall " #fn "@PLT\n\t"            \
                     "mov %%r12, %%rsp\n\tvmovups %%zmm0, %0"                              \
                     : "=m"(r) : "m"(x), "m"(y) : LOOM_SLEEF_CLOBBERS);                   \
    return r;                                                                             \
  }
LOOM_SLEEF1(Sleef_expf16_u10avx512f)
LOOM_SLEEF1(Sleef_logf16_u10avx512f)
LOOM_SLEEF1(Sleef_tanhf16_u10avx512f)
LOOM_SLEEF1(Sleef_erff16_u10avx512f)
LOOM_SLEEF1(Sleef_sinf16_u10avx512f)
LOOM_SLEEF1(Sleef_cosf16_u10avx512f)
LOOM_SLEEF2(Sleef_powf16_u10avx512f)
static inline vf vexp_sleef(vf x) { return loom_Sleef_expf16_u10avx512f(x); }
static inline vf vlog(vf x) { return loom_Sleef_logf16_u10avx512f(x); }
static inline vf vtanh_sleef(vf x) { return loom_Sleef_tanhf16_u10avx512f(x); }
static inline vf verf_sleef(vf x) { return loom_Sleef_erff16_u10avx512f(x); }
static inline vf vsin(vf x) { return loom_Sleef_sinf16_u10avx512f(x); }
static inline vf vcos(vf x) { return loom_Sleef_cosf16_u10avx512f(x); }
static inline vf vpow(vf x, vf y) { return loom_Sleef_powf16_u10avx512f(x, y); }
#else
// No SLEEF (macOS x86-64): lane-wise libm, correct but slow.
#define LOOM_LANES1(name, f)                                                 \
  static inline vf name(vf x) {                                              \
    float a[VW];                                                             \
    vst(a, x);                                                               \
    for (int i = 0; i < VW; i++) a[i] = f(a[i]);                             \
    return vld(a);                                                           \
  }
LOOM_LANES1(vexp_sleef, expf)
LOOM_LANES1(vlog, logf)
LOOM_LANES1(vtanh_sleef, tanhf)
LOOM_LANES1(verf_sleef, erff)
LOOM_LANES1(vsin, sinf)
LOOM_LANES1(vcos, cosf)
static inline vf vpow(vf x, vf y) {
  float a[VW], b[VW];
  vst(a, x); vst(b, y);
  for (int i = 0; i < VW; i++) a[i] = powf(a[i], b[i]);
  return vld(a);
}
#endif

// Inline exp (Cephes-style): n = round(x/ln2), r = x - n*ln2 (two-step with FMA),
// e^r by a degree-7 polynomial, times 2^n built in two halves so results that
// overflow to inf or underflow into subnormals come out right. ~1 ulp; measured
// faster than calling SLEEF for softmax/cross-entropy (no call, no spills).
static inline vf vexp_poly(vf x) {
  x = vmin(vset(89.0f), vmax(vset(-104.0f), x));  // NaN propagates (vmax/vmin return 2nd op)
  vf n = _mm512_roundscale_ps(x * vset(1.44269504088896341f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  vf r = vfma(n, vset(-0.693145751953125f), x);
  r = vfma(n, vset(-1.428606765330187e-06f), r);
  vf p = vset(1.9875691500e-4f);
  p = vfma(p, r, vset(1.3981999507e-3f));
  p = vfma(p, r, vset(8.3334519073e-3f));
  p = vfma(p, r, vset(4.1665795894e-2f));
  p = vfma(p, r, vset(1.6666665459e-1f));
  p = vfma(p, r, vset(5.0000001201e-1f));
  p = vfma(p, r * r, r + vset(1.0f));
  __m512i k = _mm512_cvtps_epi32(n);
  __m512i k1 = _mm512_srai_epi32(k, 1), k2 = _mm512_sub_epi32(k, k1);
  vf s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k1, _mm512_set1_epi32(127)), 23));
  vf s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k2, _mm512_set1_epi32(127)), 23));
  return p * s1 * s2;
}
#ifdef LOOM_EXP_SLEEF  // for benchmarking the alternative
static inline vf vexp(vf x) { return vexp_sleef(x); }
#else
static inline vf vexp(vf x) { return vexp_poly(x); }
#endif
static inline vf vrcp_nr(vf x) { vf r = _mm512_rcp14_ps(x); return r * vfma(-x, r, vset(2.0f)); }
#include "simd_math.h"
static inline vf vtanh(vf x) { return vtanh_fast(x); }
static inline vf verf(vf x) { return verf_fast(x); }

