// Public optimizer steps. Scalar factors are computed in double like Python
// floats in torch.optim, then rounded to float once.
#include <math.h>
#include "kern_internal.h"

typedef struct {
  const loom_ktable *kt;
  float *p, *m, *v;
  const float *g;
  loom_adam_consts ac;
  float lr, mom, damp, wd;
  int nesterov, first;
} op_ctx;

static void adam_rng(void *x, int64_t b, int64_t e) {
  op_ctx *c = x;
  c->kt->adam(c->p + b, c->g + b, c->m + b, c->v + b, e - b, &c->ac);
}

static void adam_common(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1,
                        float beta2, float eps, float weight_decay, int64_t step, int decoupled) {
  if (n <= 0) return;
  op_ctx c = {.kt = KT(), .p = p, .g = g, .m = m, .v = v};
  double bc1 = 1.0 - pow((double)beta1, (double)step), bc2 = 1.0 - pow((double)beta2, (double)step);
  c.ac.decay = decoupled ? (float)(1.0 - (double)lr * (double)weight_decay) : 1.0f;
  c.ac.l2 = decoupled ? 0.0f : weight_decay;
  c.ac.w1 = (float)(1.0 - (double)beta1);
  c.ac.beta2 = beta2;
  c.ac.c2 = (float)(1.0 - (double)beta2);
  c.ac.step_size = (float)((double)lr / bc1);
  c.ac.bc2_sqrt = (float)sqrt(bc2);
  c.ac.eps = eps;
  if (n < LOOM_PAR_ELEMS) c.kt->adam(p, g, m, v, n, &c.ac);
  else loom_parallel_for(n, 16384, adam_rng, &c);
}

void loom_adamw_step_f32(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t step) {
  adam_common(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, step, 1);
}
void loom_adam_step_f32(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1,
                        float beta2, float eps, float weight_decay, int64_t step) {
  adam_common(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, step, 0);
}

static void sgd_rng(void *x, int64_t b, int64_t e) {
  op_ctx *c = x;
  c->kt->sgd(c->p + b, c->g + b, c->m ? c->m + b : NULL, e - b, c->lr, c->mom, c->damp, c->wd, c->nesterov, c->first);
}
void loom_sgd_step_f32(float *p, const float *g, float *buf, int64_t n, float lr, float momentum,
                       float dampening, float weight_decay, int nesterov, int first_step) {
  if (n <= 0) return;
  if (!buf) momentum = 0.0f;
  op_ctx c = {.kt = KT(), .p = p, .g = g, .m = buf, .lr = lr, .mom = momentum, .damp = dampening,
              .wd = weight_decay, .nesterov = nesterov, .first = first_step};
  if (n < LOOM_PAR_ELEMS) sgd_rng(&c, 0, n);
  else loom_parallel_for(n, 16384, sgd_rng, &c);
}
