// Picks the kernel table once from the CPU's features (AVX-512 > AVX2+FMA > scalar).
#include "kern_internal.h"
#include <stdlib.h>
#include <string.h>

const loom_ktable *_Atomic loom_kt_current = NULL;

static const loom_ktable *best_for(int max_bits) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (max_bits >= 512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return &loom_kt_avx512;
  if (max_bits >= 256 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return &loom_kt_avx2;
#else
  (void)max_bits;
#endif
  return &loom_kt_scalar;
}

const loom_ktable *loom_kt_select(void) {
  // LOOM_SIMD=scalar|avx2|avx512 caps the level (debugging / testing).
  int cap = 512;
  const char *e = getenv("LOOM_SIMD");
  if (e) {
    if (!strcmp(e, "scalar")) cap = 0;
    else if (!strcmp(e, "avx2")) cap = 256;
  }
  const loom_ktable *t = best_for(cap);
  loom_kt_current = t;
  return t;
}

int loom_simd_width_bits(void) { return KT()->width_bits; }

int loom_set_simd_width_bits(int bits) {
  const loom_ktable *t = best_for(bits);
  loom_kt_current = t;
  return t->width_bits;
}
