// Internal glue between the public API files (dispatch, threading) and the
// per-ISA kernel tables. Each isa_*.c file compiles the same kernel bodies
// (body_*.h) for one instruction set and exports one table.
#pragma once
#include <stdint.h>
#include <stddef.h>
#include "loom_kernels.h"

typedef struct {
  float decay;      // p *= decay (AdamW), 1 for Adam
  float l2;         // g += l2 * p (Adam), 0 for AdamW
  float w1;         // 1 - beta1 (lerp weight)
  float beta2, c2;  // v = v*beta2 + c2*g*g
  float step_size;  // lr / bc1
  float bc2_sqrt;   // sqrt(bc2)
  float eps;
} loom_adam_consts;

// bitsandbytes' 8-bit blockwise Adam(W): the float32 update of one block, in bnb's CPU order.
typedef struct {
  float beta1, w1;  // m = m*beta1 + w1*g
  float beta2, c2;  // v = v*beta2 + c2*g*g
  float bc2_sqrt;   // denom = sqrt(v)/bc2_sqrt + eps
  float eps;
  float decay;      // p *= decay before the update (1 - lr*wd; 1 when wd = 0)
  float step_size;  // -lr / bc1
} loom_adam8_consts;
#define LOOM_ADAM8_MAX_BLOCK 4096

typedef struct {
  int width_bits;
  void (*binop)(int op, const float *a, const float *b, float *out, int64_t n);
  void (*binop_s)(int op, const float *a, float s, float *out, int64_t n);  // a op s
  void (*affine)(const float *a, float alpha, float beta, float *out, int64_t n);
  void (*axpy)(float alpha, const float *x, float *y, int64_t n);
  void (*fill)(float *out, float v, int64_t n);
  void (*unary)(int op, const float *x, float *y, int64_t n);
  void (*pow_s)(const float *x, float p, float *y, int64_t n);
  void (*leaky)(const float *x, float slope, float *y, int64_t n);
  void (*unary_bwd)(int op, const float *x, const float *gy, float *gx, int64_t n);
  double (*sum)(const float *x, int64_t n);
  void (*max_row)(const float *x, int64_t n, float *m, int64_t *idx);
  void (*softmax_row)(const float *x, float *y, int64_t n);
  void (*log_softmax_row)(const float *x, float *y, int64_t n);
  void (*softmax_bwd_row)(const float *y, const float *gy, float *gx, int64_t n);
  void (*log_softmax_bwd_row)(const float *y, const float *gy, float *gx, int64_t n);
  float (*ce_row)(const float *x, int64_t t, float eps, int64_t n, float *lse);
  void (*ce_bwd_row)(const float *x, int64_t t, float eps, float lse, float g, float *dx, int64_t n);
  void (*ln_row)(const float *x, const float *w, const float *b, float eps, float *y, float *mean,
                 float *rstd, int64_t n);
  // gx for one row; when gwacc/gbacc are not NULL also adds gy*xhat / gy into them
  void (*ln_bwd_row)(const float *gy, const float *x, const float *w, float mean, float rstd, float *gx,
                     float *gwacc, float *gbacc, int64_t n);
  void (*rms_row)(const float *x, const float *w, float eps, float *y, float *rstd, int64_t n);
  void (*rms_bwd_row)(const float *gy, const float *x, const float *w, float rstd, float *gx,
                      float *gwacc, int64_t n);
  // y = exp(x - m) (in place allowed), returns the sum; exp(-inf) = 0.
  float (*exp_store_sum)(const float *x, float m, float *y, int64_t n);
  double (*dot)(const float *a, const float *b, int64_t n);
  float (*attn_scores)(float *row, int64_t vis, int64_t n, float scale);
  void (*attn_ds)(const float *p, float *dp, float d, float scale, int64_t n);
  void (*adam)(float *p, const float *g, float *m, float *v, int64_t n, const loom_adam_consts *c);
  // One block (n <= LOOM_ADAM8_MAX_BLOCK) of dequantized moments m, v updated in place with p.
  void (*adam8_block)(float *p, const float *g, float *m, float *v, int64_t n, const loom_adam8_consts *c);
  void (*sgd)(float *p, const float *g, float *buf, int64_t n, float lr, float momentum, float dampening,
              float wd, int nesterov, int first_step);
  void (*bce)(const float *p, const float *t, float *out, int64_t n);
  void (*bce_bwd)(const float *p, const float *t, const float *gy, float gs, float *gx, int64_t n);
  // Dequantizing products for rows [n0, n1) of W (body_quant.h); wrow is k floats of scratch.
  void (*q4_rows)(const float *x, int64_t m, int64_t k, const uint8_t *w, const float *absmax, int64_t bs,
                  const float *lut, const float *bias, float *y, int64_t n_total, int64_t n0, int64_t n1,
                  float *wrow);
  void (*q8_rows)(const float *x, int64_t m, int64_t k, const int8_t *w, const float *scale, const float *bias,
                  float *y, int64_t n_total, int64_t n0, int64_t n1, float *wrow);
  // Philox fills (body_random.h): n words from block `block0` on.
  void (*rand)(int kind, uint64_t seed, uint64_t block0, float lo, float span, double p, float *out, int64_t n);
  // One-row products with bf16 weights (body_halfgemv.h), outputs [n0, n1).
  void (*bf16_gemv_dot)(const float *x, const uint16_t *w, int64_t ldw, int64_t k, float *y, int64_t n0, int64_t n1);
  void (*bf16_gemv_axpy)(const float *x, const uint16_t *w, int64_t ldw, int64_t k, float *y, int64_t n0, int64_t n1);
} loom_ktable;

extern const loom_ktable loom_kt_scalar;
#if defined(__x86_64__)
extern const loom_ktable loom_kt_avx2;
extern const loom_ktable loom_kt_avx512;
#endif

const loom_ktable *loom_kt_select(void);
extern const loom_ktable *_Atomic loom_kt_current;
static inline const loom_ktable *KT(void) {
  const loom_ktable *t = loom_kt_current;
  return t ? t : loom_kt_select();
}

// Work sizes below these run single-threaded: waking the pool costs a few µs.
#define LOOM_PAR_ELEMS ((int64_t)32768)
static inline int64_t loom_row_grain(int64_t cols) {
  int64_t g = (16384 + cols - 1) / (cols > 0 ? cols : 1);
  return g < 1 ? 1 : g;
}
