// Public unary ops / activation backward. Transcendentals are compute-bound, so
// they split over the pool at a smaller size than plain memory ops.
#include "kern_internal.h"

typedef struct {
  const loom_ktable *kt;
  int op;
  const float *x, *gy;
  float *y;
  float s;
} un_ctx;

static int64_t grain_for(int op) {
  switch (op) {
    case LOOM_NEG: case LOOM_ABS: case LOOM_SQUARE: case LOOM_RELU: return 16384;
    default: return 4096;
  }
}

static void un_rng(void *p, int64_t b, int64_t e) {
  un_ctx *c = p;
  c->kt->unary(c->op, c->x + b, c->y + b, e - b);
}
void loom_unary_f32(int op, const float *x, float *y, int64_t n) {
  un_ctx c = {KT(), op, x, NULL, y, 0};
  int64_t g = grain_for(op);
  if (n < 2 * g) { c.kt->unary(op, x, y, n); return; }
  loom_parallel_for(n, g, un_rng, &c);
}

static void pow_rng(void *p, int64_t b, int64_t e) {
  un_ctx *c = p;
  c->kt->pow_s(c->x + b, c->s, c->y + b, e - b);
}
void loom_pow_scalar_f32(const float *x, float p, float *out, int64_t n) {
  un_ctx c = {KT(), 0, x, NULL, out, p};
  if (n < 8192) { c.kt->pow_s(x, p, out, n); return; }
  loom_parallel_for(n, 4096, pow_rng, &c);
}

static void leaky_rng(void *p, int64_t b, int64_t e) {
  un_ctx *c = p;
  c->kt->leaky(c->x + b, c->s, c->y + b, e - b);
}
void loom_leaky_relu_f32(const float *x, float slope, float *y, int64_t n) {
  un_ctx c = {KT(), 0, x, NULL, y, slope};
  if (n < LOOM_PAR_ELEMS) { c.kt->leaky(x, slope, y, n); return; }
  loom_parallel_for(n, 16384, leaky_rng, &c);
}

static void bwd_rng(void *p, int64_t b, int64_t e) {
  un_ctx *c = p;
  c->kt->unary_bwd(c->op, c->x + b, c->gy + b, c->y + b, e - b);
}
void loom_unary_backward_f32(int op, const float *x, const float *gy, float *gx, int64_t n) {
  un_ctx c = {KT(), op, x, gy, gx, 0};
  int64_t g = grain_for(op);
  if (n < 2 * g) { c.kt->unary_bwd(op, x, gy, gx, n); return; }
  loom_parallel_for(n, g, bwd_rng, &c);
}

typedef struct {
  const loom_ktable *kt;
  const float *p, *t, *gy;
  float gs;
  float *out;
} bce_ctx;

static void bce_rng(void *q, int64_t b, int64_t e) {
  bce_ctx *c = q;
  c->kt->bce(c->p + b, c->t + b, c->out + b, e - b);
}
void loom_bce_f32(const float *p, const float *t, float *out, int64_t n) {
  bce_ctx c = {KT(), p, t, NULL, 0, out};
  if (n < 8192) { c.kt->bce(p, t, out, n); return; }
  loom_parallel_for(n, 4096, bce_rng, &c);
}

static void bce_bwd_rng(void *q, int64_t b, int64_t e) {
  bce_ctx *c = q;
  c->kt->bce_bwd(c->p + b, c->t + b, c->gy ? c->gy + b : NULL, c->gs, c->out + b, e - b);
}
void loom_bce_backward_f32(const float *p, const float *t, const float *gy, float gs, float *gx, int64_t n) {
  bce_ctx c = {KT(), p, t, gy, gs, gx};
  if (n < 16384) { c.kt->bce_bwd(p, t, gy, gs, gx, n); return; }
  loom_parallel_for(n, 8192, bce_bwd_rng, &c);
}
