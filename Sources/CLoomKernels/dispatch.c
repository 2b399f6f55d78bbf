// Public kernel entry points: choose the instruction-set table once, split large work
// over the thread pool, and call the per-ISA kernels on each piece.
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "loom_kernels.h"

static const loom_isa_table *isa = &loom_isa_scalar;
static int isa_bits = 0;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

static void pick_isa(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const char *force = getenv("LOOM_ISA");  // "scalar", "avx2" or "avx512", for tests
  int has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (force && strcmp(force, "scalar") == 0) has512 = has2 = 0;
  if (force && strcmp(force, "avx2") == 0) has512 = 0;
  if (has512) {
    isa = &loom_isa_avx512;
    isa_bits = 512;
  } else if (has2) {
    isa = &loom_isa_avx2;
    isa_bits = 256;
  }
#endif
}

static inline const loom_isa_table *T(void) {
  pthread_once(&isa_once, pick_isa);
  return isa;
}

int loom_simd_width_bits(void) {
  T();
  return isa_bits;
}

// Work below these sizes runs on the calling thread.
enum { GRAIN_ELEMS = 1 << 15 };

static int64_t row_grain(int64_t cols) {
  int64_t g = GRAIN_ELEMS / (cols > 0 ? cols : 1);
  return g > 0 ? g : 1;
}

// ---- elementwise -------------------------------------------------------------
typedef struct {
  int op;
  const float *a, *b;
  float *out;
  float alpha, beta;
  int64_t cols;
} ew_ctx;

static void binary_range(void *c, int64_t s, int64_t e) {
  ew_ctx *x = c;
  T()->binary(x->op, x->a + s, x->b + s, x->out + s, e - s);
}
static void binary_op(int op, const float *a, const float *b, float *out, int64_t n) {
  ew_ctx c = {op, a, b, out, 0, 0, 0};
  loom_parallel_for(n, GRAIN_ELEMS, binary_range, &c);
}
void loom_add_f32(const float *a, const float *b, float *out, int64_t n) { binary_op(0, a, b, out, n); }
void loom_sub_f32(const float *a, const float *b, float *out, int64_t n) { binary_op(1, a, b, out, n); }
void loom_mul_f32(const float *a, const float *b, float *out, int64_t n) { binary_op(2, a, b, out, n); }
void loom_div_f32(const float *a, const float *b, float *out, int64_t n) { binary_op(3, a, b, out, n); }

static void affine_range(void *c, int64_t s, int64_t e) {
  ew_ctx *x = c;
  T()->affine(x->a + s, x->alpha, x->beta, x->out + s, e - s);
}
void loom_affine_f32(const float *a, float alpha, float beta, float *out, int64_t n) {
  ew_ctx c = {0, a, NULL, out, alpha, beta, 0};
  loom_parallel_for(n, GRAIN_ELEMS, affine_range, &c);
}

static void axpy_range(void *c, int64_t s, int64_t e) {
  ew_ctx *x = c;
  T()->axpy(x->alpha, x->a + s, x->out + s, e - s);
}
void loom_axpy_f32(float alpha, const float *x, float *y, int64_t n) {
  ew_ctx c = {0, x, NULL, y, alpha, 0, 0};
  loom_parallel_for(n, GRAIN_ELEMS, axpy_range, &c);
}

void loom_fill_f32(float *out, float value, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = value;
}

static void rowwise_range(void *c, int64_t s, int64_t e) {
  ew_ctx *x = c;
  T()->rowwise(x->op, x->a + s * x->cols, x->b, x->out + s * x->cols, e - s, x->cols);
}
void loom_rowwise_f32(int op, const float *a, const float *b, float *out, int64_t rows, int64_t cols) {
  ew_ctx c = {op, a, b, out, 0, 0, cols};
  loom_parallel_for(rows, row_grain(cols), rowwise_range, &c);
}

static void colwise_range(void *c, int64_t s, int64_t e) {
  ew_ctx *x = c;
  T()->colwise(x->op, x->a + s * x->cols, x->b + s, x->out + s * x->cols, e - s, x->cols);
}
void loom_colwise_f32(int op, const float *a, const float *b, float *out, int64_t rows, int64_t cols) {
  ew_ctx c = {op, a, b, out, 0, 0, cols};
  loom_parallel_for(rows, row_grain(cols), colwise_range, &c);
}

// ---- unary ---------------------------------------------------------------------
typedef struct {
  int op;
  const float *x, *gy;
  float *y;
  float p;
} un_ctx;

static void unary_range(void *c, int64_t s, int64_t e) {
  un_ctx *u = c;
  T()->unary(u->op, u->x + s, u->y + s, e - s);
}
void loom_unary_f32(int op, const float *x, float *y, int64_t n) {
  un_ctx c = {op, x, NULL, y, 0};
  loom_parallel_for(n, GRAIN_ELEMS / 4, unary_range, &c);
}

static void unary_bwd_range(void *c, int64_t s, int64_t e) {
  un_ctx *u = c;
  T()->unary_backward(u->op, u->x + s, u->gy + s, u->y + s, e - s);
}
void loom_unary_backward_f32(int op, const float *x, const float *gy, float *gx, int64_t n) {
  un_ctx c = {op, x, gy, gx, 0};
  loom_parallel_for(n, GRAIN_ELEMS / 4, unary_bwd_range, &c);
}

void loom_pow_scalar_f32(const float *x, float p, float *out, int64_t n) {
  if (p == 2.0f) {
    T()->unary(LOOM_SQUARE, x, out, n);
  } else if (p == 0.5f) {
    T()->unary(LOOM_SQRT, x, out, n);
  } else if (p == -0.5f) {
    T()->unary(LOOM_RSQRT, x, out, n);
  } else if (p == 3.0f) {
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * x[i] * x[i];
  } else {
    for (int64_t i = 0; i < n; i++) out[i] = powf(x[i], p);
  }
}

void loom_leaky_relu_f32(const float *x, float slope, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : x[i] * slope;
}

// ---- reductions ----------------------------------------------------------------
typedef struct {
  const float *x;
  float *out;
  int64_t *idx;
  int64_t cols;
} red_ctx;

double loom_sum_f32(const float *x, int64_t n) {
  // Fixed-size blocks summed in float, combined in double: accurate, and the result
  // does not depend on the thread count.
  return T()->sum(x, n);
}

static void sum_rows_range(void *c, int64_t s, int64_t e) {
  red_ctx *r = c;
  for (int64_t i = s; i < e; i++) r->out[i] = (float)T()->sum(r->x + i * r->cols, r->cols);
}
void loom_sum_rows_f32(const float *x, float *out, int64_t rows, int64_t cols) {
  red_ctx c = {x, out, NULL, cols};
  loom_parallel_for(rows, row_grain(cols), sum_rows_range, &c);
}

typedef struct {
  const float *x;
  float *out;
  int64_t rows, cols;
} cols_ctx;
static void sum_cols_range(void *c, int64_t s, int64_t e) {
  cols_ctx *k = c;
  // Columns s..<e of every row: strided rows, contiguous column blocks.
  for (int64_t j = s; j < e; j++) k->out[j] = 0;
  for (int64_t r = 0; r < k->rows; r++) {
    const float *xr = k->x + r * k->cols;
    for (int64_t j = s; j < e; j++) k->out[j] += xr[j];
  }
}
void loom_sum_cols_f32(const float *x, float *out, int64_t rows, int64_t cols) {
  if (cols >= 64 && rows * cols >= GRAIN_ELEMS) {
    cols_ctx c = {x, out, rows, cols};
    loom_parallel_for(cols, 32, sum_cols_range, &c);
  } else {
    T()->sum_cols(x, out, rows, cols);
  }
}

static void max_rows_range(void *c, int64_t s, int64_t e) {
  red_ctx *r = c;
  T()->max_rows(r->x + s * r->cols, r->out + s, r->idx + s, e - s, r->cols);
}
void loom_max_rows_f32(const float *x, float *max_out, int64_t *argmax_out, int64_t rows, int64_t cols) {
  red_ctx c = {x, max_out, argmax_out, cols};
  loom_parallel_for(rows, row_grain(cols), max_rows_range, &c);
}

// ---- softmax family ----------------------------------------------------------
typedef struct {
  const float *x, *g;
  float *y;
  int64_t cols;
  int log;
} sm_ctx;
static void softmax_range(void *c, int64_t s, int64_t e) {
  sm_ctx *k = c;
  T()->softmax(k->x + s * k->cols, k->y + s * k->cols, e - s, k->cols, k->log);
}
static void softmax_bwd_range(void *c, int64_t s, int64_t e) {
  sm_ctx *k = c;
  T()->softmax_backward(k->x + s * k->cols, k->g + s * k->cols, k->y + s * k->cols, e - s, k->cols, k->log);
}
void loom_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols) {
  sm_ctx c = {x, NULL, y, cols, 0};
  loom_parallel_for(rows, row_grain(cols) / 4 + 1, softmax_range, &c);
}
void loom_log_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols) {
  sm_ctx c = {x, NULL, y, cols, 1};
  loom_parallel_for(rows, row_grain(cols) / 4 + 1, softmax_range, &c);
}
void loom_softmax_backward_f32(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols) {
  sm_ctx c = {y, gy, gx, cols, 0};
  loom_parallel_for(rows, row_grain(cols), softmax_bwd_range, &c);
}
void loom_log_softmax_backward_f32(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols) {
  sm_ctx c = {y, gy, gx, cols, 1};
  loom_parallel_for(rows, row_grain(cols) / 4 + 1, softmax_bwd_range, &c);
}

typedef struct {
  const float *logits;
  const int64_t *targets;
  int64_t ignore;
  float eps;
  float *loss, *lse;
  const float *lse_in, *grow;
  float *dx;
  int64_t cols;
} ce_ctx;
static void ce_range(void *c, int64_t s, int64_t e) {
  ce_ctx *k = c;
  T()->cross_entropy(k->logits + s * k->cols, k->targets + s, k->ignore, k->eps, k->loss + s, k->lse + s, e - s,
                     k->cols);
}
static void ce_bwd_range(void *c, int64_t s, int64_t e) {
  ce_ctx *k = c;
  T()->cross_entropy_backward(k->logits + s * k->cols, k->targets + s, k->ignore, k->eps, k->lse_in + s,
                              k->grow + s, k->dx + s * k->cols, e - s, k->cols);
}
int64_t loom_cross_entropy_f32(const float *logits, const int64_t *targets, int64_t ignore_index,
                               float label_smoothing, float *loss_out, float *lse_out, int64_t rows, int64_t cols) {
  ce_ctx c = {logits, targets, ignore_index, label_smoothing, loss_out, lse_out, NULL, NULL, NULL, cols};
  loom_parallel_for(rows, row_grain(cols) / 4 + 1, ce_range, &c);
  int64_t valid = 0;
  for (int64_t r = 0; r < rows; r++) valid += targets[r] != ignore_index;
  return valid;
}
void loom_cross_entropy_backward_f32(const float *logits, const int64_t *targets, int64_t ignore_index,
                                     float label_smoothing, const float *lse, const float *grow, float *dlogits,
                                     int64_t rows, int64_t cols) {
  ce_ctx c = {logits, targets, ignore_index, label_smoothing, NULL, NULL, lse, grow, dlogits, cols};
  loom_parallel_for(rows, row_grain(cols) / 4 + 1, ce_bwd_range, &c);
}

// ---- normalisation ---------------------------------------------------------------
typedef struct {
  const float *x, *w, *b, *gy, *mean, *rstd;
  float *y, *mean_out, *rstd_out, *gx;
  float *gw_partial, *gb_partial;  // [chunks, cols]
  float eps;
  int64_t cols, rows;
  int rms, chunks;
} ln_ctx;
static void ln_range(void *c, int64_t s, int64_t e) {
  ln_ctx *k = c;
  T()->layer_norm(k->x + s * k->cols, k->w, k->b, k->eps, k->y + s * k->cols, k->mean_out ? k->mean_out + s : NULL,
                  k->rstd_out + s, e - s, k->cols, k->rms);
}
static void ln_bwd_range(void *c, int64_t s, int64_t e) {
  ln_ctx *k = c;
  // Each chunk index owns one row of the partial parameter-gradient buffers.
  int64_t chunk = s * k->chunks / k->rows;
  float *gw = k->gw_partial ? k->gw_partial + chunk * k->cols : NULL;
  float *gb = k->gb_partial ? k->gb_partial + chunk * k->cols : NULL;
  T()->layer_norm_backward(k->gy + s * k->cols, k->x + s * k->cols, k->w, k->mean ? k->mean + s : NULL,
                           k->rstd + s, k->gx + s * k->cols, gw, gb, e - s, k->cols, k->rms);
}
static void norm_forward(const float *x, const float *w, const float *b, float eps, float *y, float *mean,
                         float *rstd, int64_t rows, int64_t cols, int rms) {
  ln_ctx c = {x, w, b, NULL, NULL, NULL, y, mean, rstd, NULL, NULL, NULL, eps, cols, rows, rms, 0};
  loom_parallel_for(rows, row_grain(cols) / 2 + 1, ln_range, &c);
}
static void norm_backward(const float *gy, const float *x, const float *w, const float *mean, const float *rstd,
                          float *gx, float *gw, float *gb, int64_t rows, int64_t cols, int rms) {
  int64_t grain = row_grain(cols) / 2 + 1;
  int threads = loom_num_threads();
  int chunks = 1;
  if (threads > 1 && rows > grain) {
    int64_t max_chunks = (rows + grain - 1) / grain;
    chunks = threads < max_chunks ? threads : (int)max_chunks;
  }
  float *pw = gw ? calloc((size_t)(chunks * cols), sizeof(float)) : NULL;
  float *pb = gb ? calloc((size_t)(chunks * cols), sizeof(float)) : NULL;
  ln_ctx c = {x, w, NULL, gy, mean, rstd, NULL, NULL, NULL, gx, pw, pb, 0, cols, rows, rms, chunks};
  if (chunks == 1) {
    ln_bwd_range(&c, 0, rows);
  } else {
    loom_parallel_for(rows, (rows + chunks - 1) / chunks, ln_bwd_range, &c);
  }
  for (int k = 0; k < chunks; k++) {
    if (gw) for (int64_t j = 0; j < cols; j++) gw[j] += pw[k * cols + j];
    if (gb) for (int64_t j = 0; j < cols; j++) gb[j] += pb[k * cols + j];
  }
  free(pw);
  free(pb);
}
void loom_layer_norm_f32(const float *x, const float *w, const float *b, float eps, float *y, float *mean,
                         float *rstd, int64_t rows, int64_t cols) {
  norm_forward(x, w, b, eps, y, mean, rstd, rows, cols, 0);
}
void loom_layer_norm_backward_f32(const float *gy, const float *x, const float *w, const float *mean,
                                  const float *rstd, float *gx, float *gw, float *gb, int64_t rows, int64_t cols) {
  norm_backward(gy, x, w, mean, rstd, gx, gw, gb, rows, cols, 0);
}
void loom_rms_norm_f32(const float *x, const float *w, float eps, float *y, float *rstd, int64_t rows,
                       int64_t cols) {
  norm_forward(x, w, NULL, eps, y, NULL, rstd, rows, cols, 1);
}
void loom_rms_norm_backward_f32(const float *gy, const float *x, const float *w, const float *rstd, float *gx,
                                float *gw, int64_t rows, int64_t cols) {
  norm_backward(gy, x, w, NULL, rstd, gx, gw, NULL, rows, cols, 1);
}

// ---- optimizers --------------------------------------------------------------------
typedef struct {
  float *p, *m, *v;
  const float *g;
  float lr, b1, b2, eps, wd, bc1, bc2sqrt;
  int decoupled;
} adam_ctx;
static void adam_range(void *c, int64_t s, int64_t e) {
  adam_ctx *k = c;
  T()->adam(k->p + s, k->g + s, k->m + s, k->v + s, e - s, k->lr, k->b1, k->b2, k->eps, k->wd, k->bc1, k->bc2sqrt,
            k->decoupled);
}
static void adam_like(float *p, const float *g, float *m, float *v, int64_t n, float lr, float b1, float b2,
                      float eps, float wd, int64_t step, int decoupled) {
  // Bias corrections in double, then rounded once (torch computes them in Python floats).
  double bc1 = 1.0 - pow((double)b1, (double)step);
  double bc2 = 1.0 - pow((double)b2, (double)step);
  adam_ctx c = {p, m, v, g, lr, b1, b2, eps, wd, (float)bc1, (float)sqrt(bc2), decoupled};
  loom_parallel_for(n, GRAIN_ELEMS, adam_range, &c);
}
void loom_adamw_step_f32(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1, float beta2,
                         float eps, float weight_decay, int64_t step) {
  adam_like(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, step, 1);
}
void loom_adam_step_f32(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1, float beta2,
                        float eps, float weight_decay, int64_t step) {
  adam_like(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, step, 0);
}
void loom_sgd_step_f32(float *p, const float *g, float *buf, int64_t n, float lr, float momentum, float dampening,
                       float weight_decay, int nesterov, int first_step) {
  for (int64_t i = 0; i < n; i++) {
    float d = g[i] + weight_decay * p[i];
    if (momentum != 0) {
      float b = first_step ? d : momentum * buf[i] + (1.0f - dampening) * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i] -= lr * d;
  }
}
