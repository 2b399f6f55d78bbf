// AVX-512 kernel table (F/DQ/BW/VL), same bodies as AVX2 with 16 lanes.
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include "kern_internal.h"
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), apply_to = function)
#include "simd_avx512.h"
#define KT_NAME loom_kt_avx512
#define KT_BITS 512
#include "body_all.h"
#pragma clang attribute pop
#endif
