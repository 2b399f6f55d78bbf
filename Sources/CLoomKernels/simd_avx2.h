// 8-lane float vectors for the AVX2+FMA kernel table (included under a target pragma).
#define VW 8
typedef __m256 vf;
typedef __m256 vmask;
static const int32_t loom_tail_tbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static inline __m256i tailm(int64_t r) { return _mm256_loadu_si256((const __m256i *)(loom_tail_tbl + 8 - r)); }
static inline vf vset(float x) { return _mm256_set1_ps(x); }
static inline vf vld(const float *p) { return _mm256_loadu_ps(p); }
static inline void vst(float *p, vf v) { _mm256_storeu_ps(p, v); }
// r = elements left; partial loads fill the missing lanes with `fill`
static inline vf ldnf(const float *p, int64_t r, float fill) {
  if (r >= VW) return _mm256_loadu_ps(p);
  __m256i m = tailm(r);
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
static inline vf ldn(const float *p, int64_t r) {
  return r >= VW ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tailm(r));
}
static inline void stn(float *p, vf v, int64_t r) {
  if (r >= VW) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, tailm(r), v);
}
static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }  // b when unordered
static inline vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf vsqrt(vf a) { return _mm256_sqrt_ps(a); }
static inline vf vabs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline vmask vgt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline vmask vunord(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
static inline vmask vmor(vmask a, vmask b) { return _mm256_or_ps(a, b); }
static inline int vmany(vmask m) { return _mm256_movemask_ps(m) != 0; }
static inline vmask vmnone(void) { return _mm256_setzero_ps(); }
static inline vf vsel(vmask m, vf t, vf f) { return _mm256_blendv_ps(f, t, m); }
static inline float vhsum(vf v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline float vhmax(vf v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#if defined(__linux__)
// SLEEF's vector functions take/return __m256 in ymm registers, but this file is
// compiled without -mavx, so clang would pass __m256 on the stack to an external
// function. We therefore call them through a small asm trampoline that follows
// the real AVX calling convention (args in ymm0/ymm1, result in ymm0, realigned
// stack below the red zone, every caller-saved register clobbered).
#define LOOM_SLEEF_CLOBBERS                                                                          \
  "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "xmm0", "xmm1", "xmm2", "xmm3", \
      "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",   \
      "xmm15", "memory", "cc"
#define LOOM_SLEEF1(fn)                                                                   \
  static inline vf loom_##fn(vf x) {                                                      \
    vf r;                                                                                 \
    __asm__ volatile("vmovups %1, %%ymm0\n\tmov %%rsp, %%r12\n\tsub $128, %%rsp\n\t"      \
                     "and $-32, %%rsp\n\tcall " #fn "@PLT\n\tmov %%r12, %%rsp\n\t"          \
                     "vmovups %%ymm0, %0"                                                 \
                     : "=m"(r) : "m"(x) : LOOM_SLEEF_CLOBBERS);                           \
    return r;                                                                             \
  }
#define LOOM_SLEEF2(fn)                                                                   \
  static inline vf loom_##fn(vf x, vf y) {                                                \
    vf r;                                                                                 \
    __asm__ volatile("vmovups %1, %%ymm0\n\tvmovups %2, %%ymm1\n\tmov %%rsp, %%r12\n\t"  \
                     "sub $128, %%rsp\n\tand $-32, %%rsp\n\tcall " #fn "@PLT\n\t"            \
                     "mov %%r12, %%rsp\n\tvmovups %%ymm0, %0"                              \
                     : "=m"(r) : "m"(x), "m"(y) : LOOM_SLEEF_CLOBBERS);                   \
    return r;                                                                             \
  }
LOOM_SLEEF1(Sleef_expf8_u10avx2)
LOOM_SLEEF1(Sleef_logf8_u10avx2)
LOOM_SLEEF1(Sleef_tanhf8_u10avx2)
LOOM_SLEEF1(Sleef_erff8_u10avx2)
LOOM_SLEEF1(Sleef_sinf8_u10avx2)
LOOM_SLEEF1(Sleef_cosf8_u10avx2)
LOOM_SLEEF2(Sleef_powf8_u10avx2)
static inline vf vexp_sleef(vf x) { return loom_Sleef_expf8_u10avx2(x); }
static inline vf vlog(vf x) { return loom_Sleef_logf8_u10avx2(x); }
static inline vf vtanh_sleef(vf x) { return loom_Sleef_tanhf8_u10avx2(x); }
static inline vf verf_sleef(vf x) { return loom_Sleef_erff8_u10avx2(x); }
static inline vf vsin(vf x) { return loom_Sleef_sinf8_u10avx2(x); }
static inline vf vcos(vf x) { return loom_Sleef_cosf8_u10avx2(x); }
static inline vf vpow(vf x, vf y) { return loom_Sleef_powf8_u10avx2(x, y); }
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
  vf n = _mm256_round_ps(x * vset(1.44269504088896341f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  vf r = vfma(n, vset(-0.693145751953125f), x);
  r = vfma(n, vset(-1.428606765330187e-06f), r);
  vf p = vset(1.9875691500e-4f);
  p = vfma(p, r, vset(1.3981999507e-3f));
  p = vfma(p, r, vset(8.3334519073e-3f));
  p = vfma(p, r, vset(4.1665795894e-2f));
  p = vfma(p, r, vset(1.6666665459e-1f));
  p = vfma(p, r, vset(5.0000001201e-1f));
  p = vfma(p, r * r, r + vset(1.0f));
  __m256i k = _mm256_cvtps_epi32(n);
  __m256i k1 = _mm256_srai_epi32(k, 1), k2 = _mm256_sub_epi32(k, k1);
  vf s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, _mm256_set1_epi32(127)), 23));
  vf s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, _mm256_set1_epi32(127)), 23));
  return p * s1 * s2;
}
#ifdef LOOM_EXP_SLEEF  // for benchmarking the alternative
static inline vf vexp(vf x) { return vexp_sleef(x); }
#else
static inline vf vexp(vf x) { return vexp_poly(x); }
#endif
static inline vf vrcp_nr(vf x) { vf r = _mm256_rcp_ps(x); return r * vfma(-x, r, vset(2.0f)); }
#include "simd_math.h"
static inline vf vtanh(vf x) { return vtanh_fast(x); }
static inline vf verf(vf x) { return verf_fast(x); }

