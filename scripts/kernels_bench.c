// Micro-benchmark of CLoomKernels against the shapes in scripts/kernels_bench_torch.py.
// Build: swift build -c release --target CLoomKernels &&
//   clang -O2 -ISources/CLoomKernels/include scripts/kernels_bench.c .build/release/CLoomKernels.build/*.o \
//     -lsleef -lpthread -lm -o /tmp/kbench && /tmp/kbench
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "loom_kernels.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static float *randv(long n, float lo, float hi) {
  float *p = malloc(n * sizeof(float));
  unsigned s = 12345;
  for (long i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; p[i] = lo + (hi - lo) * (s >> 8) / 16777216.0f; }
  return p;
}
#define BENCH(name, reps, body)                                               \
  do {                                                                        \
    double t_[reps];                                                          \
    for (int w_ = 0; w_ < 3; w_++) { body; }                                  \
    for (int k_ = 0; k_ < reps; k_++) { double a_ = now(); body; t_[k_] = now() - a_; } \
    qsort(t_, reps, sizeof(double), cmpd);                                    \
    printf("%-34s %9.3f ms\n", name, t_[reps / 2] * 1e3);                     \
  } while (0)

int main(void) {
  printf("simd %d bits, %d threads\n", loom_simd_width_bits(), loom_num_threads());
  { long R = 8 * 6 * 256, C = 256; float *x = randv(R * C, -5, 5), *y = randv(R * C, 0, 1), *gy = randv(R * C, -1, 1), *gx = randv(R * C, 0, 1);
    BENCH("softmax [12288,256] fwd+bwd", 41, { loom_softmax_f32(x, y, R, C); loom_softmax_backward_f32(y, gy, gx, R, C); }); }
  { long R = 2048, C = 384; float *x = randv(R * C, -2, 2), *w = randv(C, .5, 1.5), *b = randv(C, -1, 1), *y = randv(R * C, 0, 1);
    float *gy = randv(R * C, -1, 1), *gx = randv(R * C, 0, 1), *m = randv(R, 0, 1), *r = randv(R, 0, 1), *gw = randv(C, 0, 1), *gb = randv(C, 0, 1);
    BENCH("layernorm [2048,384] fwd+bwd", 41, { loom_layer_norm_f32(x, w, b, 1e-5f, y, m, r, R, C);
      loom_fill_f32(gw, 0, C); loom_fill_f32(gb, 0, C); loom_layer_norm_backward_f32(gy, x, w, m, r, gx, gw, gb, R, C); }); }
  { long n = 2048L * 1536; float *x = randv(n, -4, 4), *y = randv(n, 0, 1), *gy = randv(n, -1, 1), *gx = randv(n, 0, 1);
    BENCH("gelu(erf) [2048,1536] fwd", 41, loom_unary_f32(LOOM_GELU_ERF, x, y, n));
    BENCH("gelu(erf) [2048,1536] bwd", 41, loom_unary_backward_f32(LOOM_GELU_ERF, x, gy, gx, n));
    BENCH("gelu(tanh) [2048,1536] fwd", 41, loom_unary_f32(LOOM_GELU_TANH, x, y, n));
    BENCH("gelu(tanh) [2048,1536] bwd", 41, loom_unary_backward_f32(LOOM_GELU_TANH, x, gy, gx, n)); }
  long shapes[2][2] = {{2048, 65}, {512, 50257}};
  for (int s = 0; s < 2; s++) {
    long R = shapes[s][0], C = shapes[s][1];
    float *x = randv(R * C, -5, 5), *loss = randv(R, 0, 1), *lse = randv(R, 0, 1), *grow = randv(R, 0, 1), *dx = randv(R * C, 0, 1);
    int64_t *t = malloc(R * sizeof(int64_t));
    for (long i = 0; i < R; i++) t[i] = (i * 7919) % C;
    char name[64];
    snprintf(name, sizeof name, "cross-entropy [%ld,%ld] fwd+bwd", R, C);
    BENCH(name, 41, {
      int64_t cnt = loom_cross_entropy_f32(x, t, -100, 0.0f, loss, lse, R, C);
      for (long i = 0; i < R; i++) grow[i] = 1.0f / (float)cnt;  // mean reduction
      loom_cross_entropy_backward_f32(x, t, -100, 0.0f, lse, grow, dx, R, C);
    });
  }
  { long n = 10000000; float *p = randv(n, -1, 1), *g = randv(n, -1, 1), *m = randv(n, 0, 0), *v = randv(n, 0, 0);
    int64_t step = 0;
    BENCH("adamw 10M params", 21, { step++; loom_adamw_step_f32(p, g, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step); }); }
  return 0;
}
