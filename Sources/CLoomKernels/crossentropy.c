// Public cross-entropy forward/backward (PyTorch semantics, per-row loss).
#include "kern_internal.h"
#include <stdatomic.h>
#include <string.h>

typedef struct {
  const loom_ktable *kt;
  const float *x;
  const int64_t *t;
  int64_t ignore;
  float eps;
  float *loss, *lse;
  const float *lse_in, *grow;
  float *dx;
  int64_t cols;
  _Atomic int64_t count;
} ce_ctx;

static void fwd_rng(void *p, int64_t r0, int64_t r1) {
  ce_ctx *c = p;
  int64_t cnt = 0;
  for (int64_t r = r0; r < r1; r++) {
    float lse = 0;
    if (c->t[r] == c->ignore) {
      c->loss[r] = 0.0f;
    } else {
      c->loss[r] = c->kt->ce_row(c->x + r * c->cols, c->t[r], c->eps, c->cols, &lse);
      cnt++;
    }
    if (c->lse) c->lse[r] = lse;
  }
  atomic_fetch_add(&c->count, cnt);
}

int64_t loom_cross_entropy_f32(const float *logits, const int64_t *targets, int64_t ignore_index,
                               float label_smoothing, float *loss_out, float *lse_out, int64_t rows,
                               int64_t cols) {
  if (rows <= 0) return 0;
  ce_ctx c = {KT(), logits, targets, ignore_index, label_smoothing, loss_out, lse_out, NULL, NULL, NULL, cols, 0};
  if (rows * cols < 8192) fwd_rng(&c, 0, rows);
  else loom_parallel_for(rows, (4096 + cols - 1) / cols, fwd_rng, &c);
  return atomic_load(&c.count);
}

static void bwd_rng(void *p, int64_t r0, int64_t r1) {
  ce_ctx *c = p;
  for (int64_t r = r0; r < r1; r++) {
    float *dx = c->dx + r * c->cols;
    if (c->t[r] == c->ignore) {
      memset(dx, 0, (size_t)c->cols * sizeof(float));
      continue;
    }
    c->kt->ce_bwd_row(c->x + r * c->cols, c->t[r], c->eps, c->lse_in[r], c->grow[r], dx, c->cols);
  }
}

void loom_cross_entropy_backward_f32(const float *logits, const int64_t *targets, int64_t ignore_index,
                                     float label_smoothing, const float *lse, const float *grow,
                                     float *dlogits, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  ce_ctx c = {KT(), logits, targets, ignore_index, label_smoothing, NULL, NULL, lse, grow, dlogits, cols, 0};
  if (rows * cols < 8192) bwd_rng(&c, 0, rows);
  else loom_parallel_for(rows, (4096 + cols - 1) / cols, bwd_rng, &c);
}
