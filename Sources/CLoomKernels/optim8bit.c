// bitsandbytes' 8-bit optimizer state: blockwise dynamic quantization of Adam's moments.
// Each block is dequantized into a stack buffer, updated by the ISA's fused kernel, and
// requantized; blocks run in parallel.
#include <math.h>
#include "kern_internal.h"

// Largest i with code[i] <= x (0 when x < code[0]), then the nearer of code[i], code[i+1] (ties
// stay left): the nearest entry, as bnb's CUDA kernel finds it. (bnb's CPU build searches an
// approximate grid that sends small values to a coarser neighbour; see the fixture script.)
static inline uint8_t nearest_code(const float *code, float x) {
  // Branch-free: eight halving steps over the 256 ascending entries (conditional moves).
  int lo = 0;
  for (int s = 128; s > 0; s >>= 1) lo += code[lo + s] <= x ? s : 0;
  if (lo < 255 && fabsf(x - code[lo + 1]) < fabsf(x - code[lo])) lo += 1;
  return (uint8_t)lo;
}

static void quantize_block(const float *x, const float *code, uint8_t *q, float *absmax, int64_t n) {
  float a = 0.0f;
  for (int64_t i = 0; i < n; i++) a = fmaxf(a, fabsf(x[i]));
  *absmax = a;
  // An all-zero block: every entry maps to the code's zero (bnb would divide 0 by 0).
  const float inv = a > 0.0f ? a : 1.0f;
  for (int64_t i = 0; i < n; i++) q[i] = nearest_code(code, x[i] / inv);
}

typedef struct {
  const loom_ktable *kt;
  float *p, *am, *av;
  const float *g, *code_m, *code_v;
  uint8_t *qm, *qv;
  int64_t n, bs;
  loom_adam8_consts c;
} a8_ctx;

static void a8_blocks(void *x, int64_t b, int64_t e) {
  a8_ctx *c = x;
  float m[LOOM_ADAM8_MAX_BLOCK], v[LOOM_ADAM8_MAX_BLOCK];
  for (int64_t blk = b; blk < e; blk++) {
    int64_t s = blk * c->bs, len = c->n - s < c->bs ? c->n - s : c->bs;
    for (int64_t i = 0; i < len; i++) {
      m[i] = c->code_m[c->qm[s + i]] * c->am[blk];
      v[i] = c->code_v[c->qv[s + i]] * c->av[blk];
    }
    c->kt->adam8_block(c->p + s, c->g + s, m, v, len, &c->c);
    quantize_block(m, c->code_m, c->qm + s, c->am + blk, len);
    quantize_block(v, c->code_v, c->qv + s, c->av + blk, len);
  }
}

void loom_adam8bit_step_f32(float *p, const float *g, uint8_t *qm, uint8_t *qv, float *absmax_m,
                            float *absmax_v, const float *code_m, const float *code_v, int64_t n,
                            int64_t blocksize, float lr, float beta1, float beta2, float eps,
                            float weight_decay, int64_t step) {
  if (n <= 0 || blocksize <= 0 || blocksize > LOOM_ADAM8_MAX_BLOCK) return;
  // Scalars as bnb forms them: Python floats rounded once to float32.
  double bc1 = 1.0 - pow((double)beta1, (double)step), bc2 = sqrt(1.0 - pow((double)beta2, (double)step));
  a8_ctx c = {.kt = KT(), .p = p, .am = absmax_m, .av = absmax_v, .g = g, .code_m = code_m, .code_v = code_v,
              .qm = qm, .qv = qv, .n = n, .bs = blocksize};
  c.c.beta1 = beta1;
  c.c.w1 = (float)(1.0 - (double)beta1);
  c.c.beta2 = beta2;
  c.c.c2 = (float)(1.0 - (double)beta2);
  c.c.bc2_sqrt = (float)bc2;
  c.c.eps = eps;
  c.c.decay = weight_decay > 0.0f ? (float)(1.0 - (double)lr * (double)weight_decay) : 1.0f;
  c.c.step_size = (float)(-(double)lr / bc1);
  int64_t blocks = (n + blocksize - 1) / blocksize;
  if (n < LOOM_PAR_ELEMS) a8_blocks(&c, 0, blocks);
  else loom_parallel_for(blocks, 1, a8_blocks, &c);
}

void loom_quantize_blockwise_f32(const float *x, const float *code, uint8_t *q, float *absmax, int64_t n,
                                 int64_t blocksize) {
  for (int64_t s = 0, blk = 0; s < n; s += blocksize, blk++)
    quantize_block(x + s, code, q + s, absmax + blk, n - s < blocksize ? n - s : blocksize);
}

void loom_dequantize_blockwise_f32(const uint8_t *q, const float *code, const float *absmax, float *out,
                                   int64_t n, int64_t blocksize) {
  for (int64_t i = 0; i < n; i++) out[i] = code[q[i]] * absmax[i / blocksize];
}
