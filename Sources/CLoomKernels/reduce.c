// Public reductions. Large sums are cut into fixed 64K blocks whose partials are
// added in order, so the result does not depend on the thread count.
#include <stdlib.h>
#include <string.h>
#include "kern_internal.h"

#define SUM_BLOCK ((int64_t)65536)

typedef struct {
  const loom_ktable *kt;
  const float *x;
  float *out;
  int64_t *idx;
  double *part;
  int64_t n, rows, cols;
} red_ctx;

static void sum_rng(void *p, int64_t b, int64_t e) {
  red_ctx *c = p;
  for (int64_t k = b; k < e; k++) {
    int64_t s = k * SUM_BLOCK, len = c->n - s < SUM_BLOCK ? c->n - s : SUM_BLOCK;
    c->part[k] = c->kt->sum(c->x + s, len);
  }
}
double loom_sum_f32(const float *x, int64_t n) {
  const loom_ktable *kt = KT();
  if (n <= 0) return 0.0;
  if (n <= 2 * SUM_BLOCK) return kt->sum(x, n);
  int64_t nb = (n + SUM_BLOCK - 1) / SUM_BLOCK;
  double stackp[64], *part = nb <= 64 ? stackp : malloc((size_t)nb * sizeof(double));
  red_ctx c = {kt, x, NULL, NULL, part, n, 0, 0};
  loom_parallel_for(nb, 1, sum_rng, &c);
  double t = 0;
  for (int64_t k = 0; k < nb; k++) t += part[k];
  if (part != stackp) free(part);
  return t;
}

static void sum_rows_rng(void *p, int64_t b, int64_t e) {
  red_ctx *c = p;
  for (int64_t r = b; r < e; r++) c->out[r] = (float)c->kt->sum(c->x + r * c->cols, c->cols);
}
void loom_sum_rows_f32(const float *x, float *out, int64_t rows, int64_t cols) {
  if (rows <= 0) return;
  red_ctx c = {KT(), x, out, NULL, NULL, 0, rows, cols};
  if (rows * cols < LOOM_PAR_ELEMS) { sum_rows_rng(&c, 0, rows); return; }
  loom_parallel_for(rows, loom_row_grain(cols), sum_rows_rng, &c);
}

// Column sums: each task owns a column range and walks all rows, adding rows
// into a float buffer that is flushed to double every 32 rows.
static void sum_cols_rng(void *p, int64_t b, int64_t e) {
  red_ctx *c = p;
  int64_t w = e - b;
  float *tmp = calloc((size_t)w, sizeof(float));
  double *acc = calloc((size_t)w, sizeof(double));
  for (int64_t r0 = 0; r0 < c->rows; r0 += 32) {
    int64_t r1 = r0 + 32 < c->rows ? r0 + 32 : c->rows;
    for (int64_t r = r0; r < r1; r++) c->kt->axpy(1.0f, c->x + r * c->cols + b, tmp, w);
    for (int64_t j = 0; j < w; j++) { acc[j] += tmp[j]; tmp[j] = 0; }
  }
  for (int64_t j = 0; j < w; j++) c->out[b + j] = (float)acc[j];
  free(tmp);
  free(acc);
}
void loom_sum_cols_f32(const float *x, float *out, int64_t rows, int64_t cols) {
  if (cols <= 0) return;
  if (rows <= 0) { memset(out, 0, (size_t)cols * sizeof(float)); return; }
  red_ctx c = {KT(), x, out, NULL, NULL, 0, rows, cols};
  if (cols == 1) { out[0] = (float)loom_sum_f32(x, rows); return; }
  if (rows * cols < LOOM_PAR_ELEMS) { sum_cols_rng(&c, 0, cols); return; }
  loom_parallel_for(cols, 64, sum_cols_rng, &c);
}

static void max_rng(void *p, int64_t b, int64_t e) {
  red_ctx *c = p;
  for (int64_t r = b; r < e; r++) {
    int64_t i;
    c->kt->max_row(c->x + r * c->cols, c->cols, &c->out[r], &i);
    if (c->idx) c->idx[r] = i;
  }
}
void loom_max_rows_f32(const float *x, float *max_out, int64_t *argmax_out, int64_t rows, int64_t cols) {
  if (rows <= 0) return;
  red_ctx c = {KT(), x, max_out, argmax_out, NULL, 0, rows, cols};
  if (rows * cols < LOOM_PAR_ELEMS) { max_rng(&c, 0, rows); return; }
  loom_parallel_for(rows, loom_row_grain(cols), max_rng, &c);
}
