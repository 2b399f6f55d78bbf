// One thread pool for everything. OpenBLAS would otherwise run its own pool beside
// Loom's, and on few cores the two fight: each pool's waiting threads hold the cores the
// other needs (thousands of context switches per training step). So OpenBLAS runs
// single-threaded and Loom splits a large GEMM into row (or column) blocks over its own
// pool, one single-threaded sgemm per block. Accelerate manages its threads itself.
#include "kern_internal.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

// Below this many multiply-adds a GEMM runs on the calling thread.
#define SERIAL_MNK ((int64_t)4 * 1024 * 1024)

static _Atomic int g_blas_serial;

#if !defined(__APPLE__) && defined(__x86_64__)
// OpenBLAS built with DYNAMIC_ARCH picks its kernels from the CPU model number, and
// releases older than the CPU do not know it: Debian 12's 0.3.21 takes an Emerald Rapids
// Xeon for a Prescott and runs SSE3 kernels (30 instead of 180 GFLOP/s on 2 cores). When
// that happened, and the user did not choose a core with OPENBLAS_CORETYPE, pick the core
// from the instruction sets the CPU reports and redo OpenBLAS's set-up. Weak symbols: a
// build without DYNAMIC_ARCH has neither function and keeps its own kernels.
extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static const char *core_from_features(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
  return NULL;
}

// Cores without AVX that OpenBLAS falls back to for a CPU it does not recognise.
static int is_pre_avx_core(const char *name) {
  static const char *const generic[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom",
                                        "Katmai", "Coppermine", "Northwood", "Banias", "Nano", NULL};
  for (int i = 0; generic[i]; i++)
    if (!strcasecmp(name, generic[i])) return 1;
  return 0;
}

__attribute__((constructor)) static void fix_openblas_core(void) {
  if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return;
  if (getenv("OPENBLAS_CORETYPE")) return;
  const char *current = openblas_get_corename();
  const char *wanted = core_from_features();
  if (!current || !wanted || !is_pre_avx_core(current)) return;
  setenv("OPENBLAS_CORETYPE", wanted, 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
}
#endif

const char *loom_blas_core(void) {
#if !defined(__APPLE__) && defined(__x86_64__)
  if (openblas_get_corename) return openblas_get_corename();
#endif
  return "";
}

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
  enum CBLAS_TRANSPOSE ta = g->ta ? CblasTrans : CblasNoTrans, tb = g->tb ? CblasTrans : CblasNoTrans;
  if (g->by_rows) {
    // Rows lo..<hi of op(A) and of C.
    const float *a = g->ta ? g->a + lo : g->a + lo * g->lda;
    cblas_sgemm(CblasRowMajor, ta, tb, (int)(hi - lo), (int)g->n, (int)g->k, g->alpha, a, (int)g->lda, g->b,
                (int)g->ldb, g->beta, g->c + lo * g->ldc, (int)g->ldc);
  } else {
    // Columns lo..<hi of op(B) and of C.
    const float *b = g->tb ? g->b + lo * g->ldb : g->b + lo;
    cblas_sgemm(CblasRowMajor, ta, tb, (int)g->m, (int)(hi - lo), (int)g->k, g->alpha, g->a, (int)g->lda, b,
                (int)g->ldb, g->beta, g->c + lo, (int)g->ldc);
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
