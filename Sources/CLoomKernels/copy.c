// Strided gather, column gather / scatter-add (convolution patches) and storage-type
// conversions (memory-bound; portable C).
#include <stdlib.h>
#include <string.h>
#include "kern_internal.h"

typedef struct {
  const float *src;
  float *dst;
  const int64_t *shape, *src_strides, *dst_strides;
  int ndim;
} sc_ctx;

// Outer rows [b, e) of a strided-to-strided copy; each row is the innermost dimension.
static void sc_rng(void *p, int64_t b, int64_t e) {
  const sc_ctx *c = p;
  int nd = c->ndim;
  int64_t inner = c->shape[nd - 1], si = c->src_strides[nd - 1], di = c->dst_strides[nd - 1];
  int64_t idx[8] = {0};
  int64_t rem = b, so = 0, dof = 0;
  for (int d = nd - 2; d >= 0; d--) {  // unravel b over dims [0, nd-1)
    idx[d] = rem % c->shape[d];
    rem /= c->shape[d];
    so += idx[d] * c->src_strides[d];
    dof += idx[d] * c->dst_strides[d];
  }
  for (int64_t row = b; row < e; row++) {
    const float *s = c->src + so;
    float *t = c->dst + dof;
    if (si == 1 && di == 1) memcpy(t, s, (size_t)inner * sizeof(float));
    else if (si == 0 && di == 1) { float v = *s; for (int64_t i = 0; i < inner; i++) t[i] = v; }
    else for (int64_t i = 0; i < inner; i++) t[i * di] = s[i * si];
    for (int d = nd - 2; d >= 0; d--) {  // odometer increment
      so += c->src_strides[d];
      dof += c->dst_strides[d];
      if (++idx[d] < c->shape[d]) break;
      so -= idx[d] * c->src_strides[d];
      dof -= idx[d] * c->dst_strides[d];
      idx[d] = 0;
    }
  }
}

void loom_strided_copy2_f32(const float *src, const int64_t *shape, const int64_t *src_strides, int ndim, float *dst,
                            const int64_t *dst_strides) {
  if (ndim <= 0) { dst[0] = src[0]; return; }
  int64_t total = 1;
  for (int d = 0; d < ndim; d++) total *= shape[d];
  if (total <= 0) return;
  sc_ctx c = {src, dst, shape, src_strides, dst_strides, ndim};
  int64_t inner = shape[ndim - 1], outer = total / inner;
  if (total < LOOM_PAR_ELEMS * 2) sc_rng(&c, 0, outer);
  else loom_parallel_for(outer, loom_row_grain(inner) * 2, sc_rng, &c);
}

void loom_strided_copy_f32(const float *src, const int64_t *shape, const int64_t *strides, int ndim,
                           float *dst) {
  if (ndim <= 0) { dst[0] = src[0]; return; }
  int64_t dense[8];  // row-major strides of the destination (ndim ≤ 8, as the header says)
  int64_t step = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    dense[d] = step;
    step *= shape[d];
  }
  loom_strided_copy2_f32(src, shape, strides, ndim, dst, dense);
}

void loom_f32_to_f64(const float *src, double *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = (double)src[i];
}
void loom_f64_to_f32(const double *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

void loom_f32_to_bf16(const float *src, uint16_t *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t u = f2u(src[i]);
    if ((u & 0x7fffffffu) > 0x7f800000u) dst[i] = (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    else dst[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);          // round to nearest even
  }
}
void loom_bf16_to_f32(const uint16_t *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = u2f((uint32_t)src[i] << 16);
}

static inline uint16_t f32_to_f16_one(float f) {
  uint32_t u = f2u(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;            // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;           // overflow (>= 65520 rounds to inf) or inf
  if (a >= 0x38800000u) {                                // normal half
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u);          // RNE on the 13 dropped bits
    return sign | (uint16_t)((r - 0x38000000u) >> 13);
  }
  if (a < 0x33000000u) return sign;                      // < 2^-25 rounds to 0
  // subnormal half: value = m * 2^-24
  uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126 - e;                              // (113 - e) + 13
  uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), halfw = 1u << (shift - 1);
  if (rem > halfw || (rem == halfw && (q & 1u))) q++;
  return sign | (uint16_t)q;
}
static inline float f16_to_f32_one(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return u2f(sign | 0x7f800000u | (m << 13));
  if (e == 0) {
    if (m == 0) return u2f(sign);
    float v = (float)m * 5.9604644775390625e-8f;  // m * 2^-24, exact
    return sign ? -v : v;
  }
  return u2f(sign | ((e + 112) << 23) | (m << 13));
}
void loom_f32_to_f16(const float *src, uint16_t *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = f32_to_f16_one(src[i]);
}
void loom_f16_to_f32(const uint16_t *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32_one(src[i]);
}

// Column gather / scatter-add for index_select along the last dimension (convolution
// patches): every row picks the same columns, so rows split over the pool and the output
// stays dense. Index −1 stands for a zero column (padding) and receives no gradient; the
// caller rejects anything else outside [0, cols).
typedef struct {
  const float *src;
  float *dst;
  const int64_t *index;         // take: the column each output column reads
  const int64_t *start, *order;  // add: CSR inverse of the index (see add_cols_rows)
  int64_t cols, picked;
} cols_ctx;

static void take_cols_rows(void *p, int64_t b, int64_t e) {
  const cols_ctx *c = p;
  for (int64_t r = b; r < e; r++) {
    const float *s = c->src + r * c->cols;
    float *d = c->dst + r * c->picked;
    for (int64_t j = 0; j < c->picked; j++) {
      int64_t k = c->index[j];
      d[j] = k >= 0 ? s[k] : 0.0f;
    }
  }
}

// Scatter-add as a gather: for each destination column, sum the source columns that map to
// it (a CSR inverse of the index, built once per call). A direct scatter would chain
// read-modify-writes on repeated columns (every padding entry of a patch matrix hits the
// same pad column), which serialises on store-to-load forwarding.
static void add_cols_rows(void *p, int64_t b, int64_t e) {
  const cols_ctx *c = p;
  for (int64_t r = b; r < e; r++) {
    const float *s = c->src + r * c->picked;
    float *d = c->dst + r * c->cols;
    for (int64_t col = 0; col < c->cols; col++) {
      int64_t lo = c->start[col], hi = c->start[col + 1];
      if (lo == hi) continue;
      float acc = 0;
      for (int64_t t = lo; t < hi; t++) acc += s[c->order[t]];
      d[col] += acc;
    }
  }
}

void loom_take_cols_f32(const float *src, int64_t rows, int64_t cols, const int64_t *index, int64_t picked,
                        float *dst) {
  cols_ctx c = {src, dst, index, NULL, NULL, cols, picked};
  if (rows * picked < LOOM_PAR_ELEMS * 2) take_cols_rows(&c, 0, rows);
  else loom_parallel_for(rows, loom_row_grain(picked), take_cols_rows, &c);
}

void loom_add_cols_f32(float *dst, int64_t rows, int64_t cols, const int64_t *index, int64_t picked,
                       const float *src) {
  int64_t *start = calloc((size_t)cols + 1, sizeof(int64_t));
  int64_t *order = malloc((size_t)(picked > 0 ? picked : 1) * sizeof(int64_t));
  for (int64_t j = 0; j < picked; j++)
    if (index[j] >= 0) start[index[j] + 1]++;
  for (int64_t col = 0; col < cols; col++) start[col + 1] += start[col];
  int64_t *fill = malloc((size_t)(cols > 0 ? cols : 1) * sizeof(int64_t));
  memcpy(fill, start, (size_t)cols * sizeof(int64_t));
  for (int64_t j = 0; j < picked; j++)  // ascending j per column
    if (index[j] >= 0) order[fill[index[j]]++] = j;
  free(fill);
  cols_ctx c = {src, dst, index, start, order, cols, picked};
  if (rows * picked < LOOM_PAR_ELEMS * 2) add_cols_rows(&c, 0, rows);
  else loom_parallel_for(rows, loom_row_grain(picked), add_cols_rows, &c);
  free(start);
  free(order);
}
