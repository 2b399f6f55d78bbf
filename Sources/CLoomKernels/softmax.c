// Public softmax / log-softmax (+ backward): rows split over the pool.
#include "kern_internal.h"

typedef struct {
  const loom_ktable *kt;
  int kind;
  const float *a, *b;
  float *out;
  int64_t cols;
} sm_ctx;

static void sm_rng(void *p, int64_t r0, int64_t r1) {
  sm_ctx *c = p;
  const loom_ktable *kt = c->kt;
  int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *a = c->a + r * n, *b = c->b ? c->b + r * n : NULL;
    float *o = c->out + r * n;
    switch (c->kind) {
      case 0: kt->softmax_row(a, o, n); break;
      case 1: kt->log_softmax_row(a, o, n); break;
      case 2: kt->softmax_bwd_row(a, b, o, n); break;
      default: kt->log_softmax_bwd_row(a, b, o, n); break;
    }
  }
}

static void run(int kind, const float *a, const float *b, float *out, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  sm_ctx c = {KT(), kind, a, b, out, cols};
  // exp-heavy rows are worth splitting earlier than plain memory ops
  int64_t g = (4096 + cols - 1) / cols;
  if (rows * cols < 8192) { sm_rng(&c, 0, rows); return; }
  loom_parallel_for(rows, g, sm_rng, &c);
}

void loom_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols) { run(0, x, NULL, y, rows, cols); }
void loom_log_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols) { run(1, x, NULL, y, rows, cols); }
void loom_softmax_backward_f32(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols) {
  run(2, y, gy, gx, rows, cols);
}
void loom_log_softmax_backward_f32(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols) {
  run(3, y, gy, gx, rows, cols);
}
