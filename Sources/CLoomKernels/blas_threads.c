// One thread pool for everything. OpenBLAS would otherwise run its own pool beside
// Loom's, and on few cores the two fight: each pool's waiting threads hold the cores the
// other needs (thousands of context switches per training step). So OpenBLAS runs
// single-threaded and Loom splits a large GEMM into row (or column) blocks over its own
// pool, one single-threaded sgemm per block (`loom_sgemm_serial`, gemm_engines.c).
// Accelerate manages its threads itself.
#include "kern_internal.h"
#include <stdatomic.h>
#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

// Below this many multiply-adds a GEMM runs on the calling thread.
#define SERIAL_MNK ((int64_t)4 * 1024 * 1024)

static _Atomic int g_blas_serial;

static void ensure_serial_blas(void) {
#if !defined(__APPLE__)
  if (!atomic_load(&g_blas_serial)) {
    openblas_set_num_threads(1);
    atomic_store(&g_blas_serial, 1);
  }
#endif
}

typedef struct {
  int ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  const float *a, *b;
  float *c;
  int64_t lda, ldb, ldc;
  int by_rows;
} gemm_ctx;

static void gemm_block(void *p, int64_t lo, int64_t hi) {
  const gemm_ctx *g = p;
  if (g->by_rows) {
    // Rows lo..<hi of op(A) and of C.
    const float *a = g->ta ? g->a + lo : g->a + lo * g->lda;
    loom_sgemm_serial(g->ta, g->tb, hi - lo, g->n, g->k, g->alpha, a, g->lda, g->b, g->ldb, g->beta,
                      g->c + lo * g->ldc, g->ldc);
  } else {
    // Columns lo..<hi of op(B) and of C.
    const float *b = g->tb ? g->b + lo * g->ldb : g->b + lo;
    loom_sgemm_serial(g->ta, g->tb, g->m, hi - lo, g->k, g->alpha, g->a, g->lda, b, g->ldb, g->beta, g->c + lo,
                      g->ldc);
  }
}

void loom_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  ensure_serial_blas();
  gemm_ctx g = {trans_a, trans_b, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, m >= n};
  int nt = loom_num_threads();
  if (m * n * k < SERIAL_MNK || nt <= 1) {
    gemm_block(&g, 0, g.by_rows ? m : n);
    return;
  }
  // Blocks in multiples of 16 rows/columns keep the packed panels whole.
  int64_t extent = g.by_rows ? m : n;
  int64_t per = (extent + nt - 1) / nt;
  per = (per + 15) / 16 * 16;
  loom_parallel_for(extent, per, gemm_block, &g);
}

void loom_blas_serial(void) { ensure_serial_blas(); }

typedef struct {
  int trans;
  int64_t rows, cols, lda, incx;
  float alpha, beta;
  const float *a, *x;
  float *y;
} gemv_ctx;

static void gemv_block(void *p, int64_t lo, int64_t hi) {
  const gemv_ctx *g = p;
  if (g->trans) {
    // y[lo..<hi] = A[:, lo..<hi]ᵀ x
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)g->rows, (int)(hi - lo), g->alpha, g->a + lo, (int)g->lda, g->x,
                (int)g->incx, g->beta, g->y + lo, 1);
  } else {
    // y[lo..<hi] = A[lo..<hi, :] x
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(hi - lo), (int)g->cols, g->alpha, g->a + lo * g->lda, (int)g->lda,
                g->x, (int)g->incx, g->beta, g->y + lo, 1);
  }
}

void loom_sgemv(int trans, int64_t rows, int64_t cols, float alpha, const float *a, int64_t lda, const float *x,
                int64_t incx, float beta, float *y) {
  ensure_serial_blas();
  gemv_ctx g = {trans, rows, cols, lda, incx, alpha, beta, a, x, y};
  int64_t outputs = trans ? cols : rows;
  if (rows * cols < 256 * 1024 || loom_num_threads() <= 1) {
    gemv_block(&g, 0, outputs);
    return;
  }
  loom_parallel_for(outputs, 64, gemv_block, &g);
}
