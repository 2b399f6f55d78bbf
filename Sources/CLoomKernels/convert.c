// Strided gathers and dtype conversions (memory-bound; large copies use the pool).
#include <string.h>

#include "loom_kernels.h"

typedef struct {
  const float *src;
  const int64_t *shape, *strides;
  int ndim;
  float *dst;
  int64_t inner;  // elements per outer index
} copy_ctx;

/// Copies the sub-tensor at outer index `o` (over dim 0) into dst.
static void copy_dims(const float *src, const int64_t *shape, const int64_t *strides, int ndim, float *dst) {
  if (ndim == 1) {
    int64_t n = shape[0], s = strides[0];
    if (s == 1) {
      memcpy(dst, src, sizeof(float) * n);
    } else {
      for (int64_t i = 0; i < n; i++) dst[i] = src[i * s];
    }
    return;
  }
  int64_t inner = 1;
  for (int d = 1; d < ndim; d++) inner *= shape[d];
  for (int64_t i = 0; i < shape[0]; i++) copy_dims(src + i * strides[0], shape + 1, strides + 1, ndim - 1, dst + i * inner);
}

static void copy_range(void *c, int64_t s, int64_t e) {
  copy_ctx *k = c;
  for (int64_t i = s; i < e; i++)
    copy_dims(k->src + i * k->strides[0], k->shape + 1, k->strides + 1, k->ndim - 1, k->dst + i * k->inner);
}

void loom_strided_copy_f32(const float *src, const int64_t *shape, const int64_t *strides, int ndim, float *dst) {
  if (ndim == 0) {
    dst[0] = src[0];
    return;
  }
  for (int d = 0; d < ndim; d++) if (shape[d] == 0) return;
  if (ndim == 1) {
    copy_dims(src, shape, strides, 1, dst);
    return;
  }
  int64_t inner = 1;
  for (int d = 1; d < ndim; d++) inner *= shape[d];
  copy_ctx c = {src, shape, strides, ndim, dst, inner};
  int64_t grain = (1 << 15) / (inner > 0 ? inner : 1);
  loom_parallel_for(shape[0], grain > 0 ? grain : 1, copy_range, &c);
}

void loom_f32_to_f64(const float *src, double *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = src[i];
}
void loom_f64_to_f32(const double *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

void loom_f32_to_bf16(const float *src, uint16_t *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &src[i], 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      dst[i] = (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    } else {
      u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
      dst[i] = (uint16_t)(u >> 16);
    }
  }
}
void loom_bf16_to_f32(const uint16_t *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t u = (uint32_t)src[i] << 16;
    memcpy(&dst[i], &u, 4);
  }
}

#if defined(__FLT16_MANT_DIG__)
void loom_f32_to_f16(const float *src, uint16_t *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    _Float16 h = (_Float16)src[i];
    memcpy(&dst[i], &h, 2);
  }
}
void loom_f16_to_f32(const uint16_t *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    _Float16 h;
    memcpy(&h, &src[i], 2);
    dst[i] = (float)h;
  }
}
#else
#error "Loom needs a compiler with _Float16 support (clang 15 or newer)"
#endif
