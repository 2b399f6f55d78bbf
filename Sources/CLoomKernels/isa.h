// Per-ISA kernel table. isa_impl.h is compiled three times (AVX-512, AVX2+FMA, portable)
// into functions with these signatures; dispatch.c picks one table at start-up.
#pragma once
#include <stdint.h>

typedef struct {
  void (*binary)(int op, const float *a, const float *b, float *out, int64_t n);
  void (*affine)(const float *a, float alpha, float beta, float *out, int64_t n);
  void (*axpy)(float alpha, const float *x, float *y, int64_t n);
  void (*rowwise)(int op, const float *a, const float *b, float *out, int64_t rows, int64_t cols);
  void (*colwise)(int op, const float *a, const float *b, float *out, int64_t rows, int64_t cols);
  void (*unary)(int op, const float *x, float *y, int64_t n);
  void (*unary_backward)(int op, const float *x, const float *gy, float *gx, int64_t n);
  double (*sum)(const float *x, int64_t n);
  void (*sum_cols)(const float *x, float *out, int64_t rows, int64_t cols);
  void (*max_rows)(const float *x, float *max_out, int64_t *argmax_out, int64_t rows, int64_t cols);
  void (*softmax)(const float *x, float *y, int64_t rows, int64_t cols, int log);
  void (*softmax_backward)(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols, int log);
  void (*cross_entropy)(const float *logits, const int64_t *targets, int64_t ignore, float eps, float *loss,
                        float *lse, int64_t rows, int64_t cols);
  void (*cross_entropy_backward)(const float *logits, const int64_t *targets, int64_t ignore, float eps,
                                 const float *lse, const float *grow, float *dx, int64_t rows, int64_t cols);
  void (*layer_norm)(const float *x, const float *w, const float *b, float eps, float *y, float *mean,
                     float *rstd, int64_t rows, int64_t cols, int rms);
  void (*layer_norm_backward)(const float *gy, const float *x, const float *w, const float *mean,
                              const float *rstd, float *gx, float *gw, float *gb, int64_t rows, int64_t cols,
                              int rms);
  void (*adam)(float *p, const float *g, float *m, float *v, int64_t n, float lr, float b1, float b2,
               float eps, float wd, float bc1, float bc2sqrt, int decoupled);
} loom_isa_table;

extern const loom_isa_table loom_isa_scalar;
#if defined(__x86_64__)
extern const loom_isa_table loom_isa_avx2;
extern const loom_isa_table loom_isa_avx512;
#endif
