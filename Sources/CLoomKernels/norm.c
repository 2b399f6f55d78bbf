// Public LayerNorm / RMSNorm. Backward weight/bias gradients are reduced over
// fixed 256-row chunks (float over 32 rows, then double), merged in chunk
// order: accurate and independent of the thread count.
#include <stdlib.h>
#include <string.h>
#include "kern_internal.h"

#define WCHUNK 256
#define WFLUSH 32

typedef struct {
  const loom_ktable *kt;
  const float *x, *w, *b, *gy, *mean, *rstd;
  float eps;
  float *y, *mean_o, *rstd_o, *gx;
  int want_gw, want_gb;
  double *dw, *db;  // [nchunks, cols]
  int64_t rows, cols;
} nm_ctx;

static void ln_fwd_rng(void *p, int64_t r0, int64_t r1) {
  nm_ctx *c = p;
  int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++)
    c->kt->ln_row(c->x + r * n, c->w, c->b, c->eps, c->y + r * n, c->mean_o ? c->mean_o + r : NULL,
                  c->rstd_o ? c->rstd_o + r : NULL, n);
}
void loom_layer_norm_f32(const float *x, const float *w, const float *b, float eps, float *y, float *mean,
                         float *rstd, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  nm_ctx c = {.kt = KT(), .x = x, .w = w, .b = b, .eps = eps, .y = y, .mean_o = mean, .rstd_o = rstd,
              .rows = rows, .cols = cols};
  if (rows * cols < LOOM_PAR_ELEMS) ln_fwd_rng(&c, 0, rows);
  else loom_parallel_for(rows, loom_row_grain(cols), ln_fwd_rng, &c);
}

// one task per chunk index k; `rms` selects the row kernel
static void bwd_chunks(nm_ctx *c, int64_t k0, int64_t k1, int rms) {
  int64_t n = c->cols;
  float *tw = (c->want_gw || c->want_gb) ? calloc((size_t)(2 * n), sizeof(float)) : NULL;
  float *tb = tw ? tw + n : NULL;
  for (int64_t k = k0; k < k1; k++) {
    int64_t rs = k * WCHUNK, re = rs + WCHUNK < c->rows ? rs + WCHUNK : c->rows;
    double *dw = c->dw ? c->dw + k * n : NULL, *db = c->db ? c->db + k * n : NULL;
    for (int64_t f0 = rs; f0 < re; f0 += WFLUSH) {
      int64_t f1 = f0 + WFLUSH < re ? f0 + WFLUSH : re;
      for (int64_t r = f0; r < f1; r++) {
        if (rms)
          c->kt->rms_bwd_row(c->gy + r * n, c->x + r * n, c->w, c->rstd[r], c->gx + r * n,
                             c->want_gw ? tw : NULL, n);
        else
          c->kt->ln_bwd_row(c->gy + r * n, c->x + r * n, c->w, c->mean[r], c->rstd[r], c->gx + r * n,
                            c->want_gw ? tw : NULL, c->want_gb ? tb : NULL, n);
      }
      if (c->want_gw) for (int64_t j = 0; j < n; j++) { dw[j] += tw[j]; tw[j] = 0; }
      if (c->want_gb) for (int64_t j = 0; j < n; j++) { db[j] += tb[j]; tb[j] = 0; }
    }
  }
  free(tw);
}
static void ln_bwd_rng(void *p, int64_t k0, int64_t k1) { bwd_chunks(p, k0, k1, 0); }
static void rms_bwd_rng(void *p, int64_t k0, int64_t k1) { bwd_chunks(p, k0, k1, 1); }

static void run_bwd(nm_ctx *c, float *gw, float *gb, int rms) {
  int64_t rows = c->rows, n = c->cols;
  int64_t nch = (rows + WCHUNK - 1) / WCHUNK;
  c->want_gw = gw != NULL;
  c->want_gb = gb != NULL;
  c->dw = gw ? calloc((size_t)(nch * n), sizeof(double)) : NULL;
  c->db = gb ? calloc((size_t)(nch * n), sizeof(double)) : NULL;
  if (rows * n < LOOM_PAR_ELEMS) bwd_chunks(c, 0, nch, rms);
  else loom_parallel_for(nch, 1, rms ? rms_bwd_rng : ln_bwd_rng, c);
  for (int64_t j = 0; gw && j < n; j++) {
    double s = 0;
    for (int64_t k = 0; k < nch; k++) s += c->dw[k * n + j];
    gw[j] += (float)s;
  }
  for (int64_t j = 0; gb && j < n; j++) {
    double s = 0;
    for (int64_t k = 0; k < nch; k++) s += c->db[k * n + j];
    gb[j] += (float)s;
  }
  free(c->dw);
  free(c->db);
}

void loom_layer_norm_backward_f32(const float *gy, const float *x, const float *w, const float *mean,
                                  const float *rstd, float *gx, float *gw, float *gb, int64_t rows,
                                  int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  nm_ctx c = {.kt = KT(), .x = x, .w = w, .gy = gy, .mean = mean, .rstd = rstd, .gx = gx, .rows = rows, .cols = cols};
  run_bwd(&c, gw, gb, 0);
}

static void rms_fwd_rng(void *p, int64_t r0, int64_t r1) {
  nm_ctx *c = p;
  int64_t n = c->cols;
  for (int64_t r = r0; r < r1; r++)
    c->kt->rms_row(c->x + r * n, c->w, c->eps, c->y + r * n, c->rstd_o ? c->rstd_o + r : NULL, n);
}
void loom_rms_norm_f32(const float *x, const float *w, float eps, float *y, float *rstd, int64_t rows,
                       int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  nm_ctx c = {.kt = KT(), .x = x, .w = w, .eps = eps, .y = y, .rstd_o = rstd, .rows = rows, .cols = cols};
  if (rows * cols < LOOM_PAR_ELEMS) rms_fwd_rng(&c, 0, rows);
  else loom_parallel_for(rows, loom_row_grain(cols), rms_fwd_rng, &c);
}

void loom_rms_norm_backward_f32(const float *gy, const float *x, const float *w, const float *rstd, float *gx,
                                float *gw, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  nm_ctx c = {.kt = KT(), .x = x, .w = w, .gy = gy, .rstd = rstd, .gx = gx, .rows = rows, .cols = cols};
  run_bwd(&c, gw, NULL, 1);
}
