// Public elementwise ops: split large arrays over the pool, call the ISA table.
#include "kern_internal.h"

typedef struct {
  const loom_ktable *kt;
  int op;
  const float *a, *b;
  float *out;
  float s0, s1;
  int64_t cols;
} ew_ctx;

#define EW_GRAIN ((int64_t)16384)

static void bin_rng(void *p, int64_t b, int64_t e) {
  ew_ctx *c = p;
  c->kt->binop(c->op, c->a + b, c->b + b, c->out + b, e - b);
}
static void binop(int op, const float *a, const float *b, float *out, int64_t n) {
  ew_ctx c = {KT(), op, a, b, out, 0, 0, 0};
  if (n < LOOM_PAR_ELEMS) { c.kt->binop(op, a, b, out, n); return; }
  loom_parallel_for(n, EW_GRAIN, bin_rng, &c);
}
void loom_add_f32(const float *a, const float *b, float *out, int64_t n) { binop(0, a, b, out, n); }
void loom_sub_f32(const float *a, const float *b, float *out, int64_t n) { binop(1, a, b, out, n); }
void loom_mul_f32(const float *a, const float *b, float *out, int64_t n) { binop(2, a, b, out, n); }
void loom_div_f32(const float *a, const float *b, float *out, int64_t n) { binop(3, a, b, out, n); }

static void affine_rng(void *p, int64_t b, int64_t e) {
  ew_ctx *c = p;
  c->kt->affine(c->a + b, c->s0, c->s1, c->out + b, e - b);
}
void loom_affine_f32(const float *a, float alpha, float beta, float *out, int64_t n) {
  ew_ctx c = {KT(), 0, a, NULL, out, alpha, beta, 0};
  if (n < LOOM_PAR_ELEMS) { c.kt->affine(a, alpha, beta, out, n); return; }
  loom_parallel_for(n, EW_GRAIN, affine_rng, &c);
}

static void axpy_rng(void *p, int64_t b, int64_t e) {
  ew_ctx *c = p;
  c->kt->axpy(c->s0, c->a + b, c->out + b, e - b);
}
void loom_axpy_f32(float alpha, const float *x, float *y, int64_t n) {
  ew_ctx c = {KT(), 0, x, NULL, y, alpha, 0, 0};
  if (n < LOOM_PAR_ELEMS) { c.kt->axpy(alpha, x, y, n); return; }
  loom_parallel_for(n, EW_GRAIN, axpy_rng, &c);
}

static void fill_rng(void *p, int64_t b, int64_t e) {
  ew_ctx *c = p;
  c->kt->fill(c->out + b, c->s0, e - b);
}
void loom_fill_f32(float *out, float value, int64_t n) {
  ew_ctx c = {KT(), 0, NULL, NULL, out, value, 0, 0};
  if (n < LOOM_PAR_ELEMS) { c.kt->fill(out, value, n); return; }
  loom_parallel_for(n, EW_GRAIN, fill_rng, &c);
}

static void rowwise_rng(void *p, int64_t b, int64_t e) {
  ew_ctx *c = p;
  for (int64_t r = b; r < e; r++) c->kt->binop(c->op, c->a + r * c->cols, c->b, c->out + r * c->cols, c->cols);
}
void loom_rowwise_f32(int op, const float *a, const float *b, float *out, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  ew_ctx c = {KT(), op, a, b, out, 0, 0, cols};
  if (rows * cols < LOOM_PAR_ELEMS) { rowwise_rng(&c, 0, rows); return; }
  loom_parallel_for(rows, loom_row_grain(cols), rowwise_rng, &c);
}

static void colwise_rng(void *p, int64_t b, int64_t e) {
  ew_ctx *c = p;
  for (int64_t r = b; r < e; r++) c->kt->binop_s(c->op, c->a + r * c->cols, c->b[r], c->out + r * c->cols, c->cols);
}
void loom_colwise_f32(int op, const float *a, const float *b, float *out, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  ew_ctx c = {KT(), op, a, b, out, 0, 0, cols};
  if (rows * cols < LOOM_PAR_ELEMS) { colwise_rng(&c, 0, rows); return; }
  loom_parallel_for(rows, loom_row_grain(cols), colwise_rng, &c);
}
