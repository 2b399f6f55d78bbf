// Random fills split over Loom's pool in units of 16 Philox blocks (64 words), so every chunk
// starts on a block boundary and the result does not depend on the thread count.
#include "kern_internal.h"

typedef struct {
  const loom_ktable *kt;
  int kind;
  uint64_t seed, offset;
  float lo, span;
  double p;
  float *out;
  int64_t n;
} rand_ctx;

static void rand_range(void *ctx, int64_t b, int64_t e) {
  const rand_ctx *c = ctx;
  int64_t first = b * 64, last = e * 64 < c->n ? e * 64 : c->n;
  c->kt->rand(c->kind, c->seed, c->offset + (uint64_t)(first / 4), c->lo, c->span, c->p, c->out + first, last - first);
}

void loom_rand_f32(int kind, uint64_t seed, uint64_t offset, float lo, float span, double p, float *out, int64_t n) {
  if (n <= 0) return;
  rand_ctx c = {KT(), kind, seed, offset, lo, span, p, out, n};
  int64_t units = (n + 63) / 64;
  loom_parallel_for(units, 256, rand_range, &c);
}
