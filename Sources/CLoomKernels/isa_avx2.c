// AVX2+FMA kernel table: every function here is compiled for avx2,fma via the
// pragma, and only called after dispatch.c saw both features.
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include "kern_internal.h"
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "simd_avx2.h"
#define KT_NAME loom_kt_avx2
#define KT_BITS 256
#include "body_all.h"
#pragma clang attribute pop
#endif
