// OpenBLAS runs its own thread pool. Waking it costs more than a small GEMM gains,
// and on a busy machine a preempted BLAS worker stalls the whole step, so products
// below a size run single-threaded; larger ones use OpenBLAS's threads (capped by
// LOOM_NUM_THREADS). Accelerate manages its threads itself.
#include "kern_internal.h"
#if !defined(__APPLE__)
#include <cblas.h>
#include <stdatomic.h>

#define SERIAL_MNK ((int64_t)16 * 1024 * 1024)

static _Atomic int g_parallel;  // 0 = not yet read
static _Atomic int g_current;

void loom_blas_prepare(int64_t m, int64_t n, int64_t k) {
  int parallel = atomic_load(&g_parallel);
  if (!parallel) {
    int blas = openblas_get_num_threads(), ours = loom_num_threads();
    parallel = blas < ours ? blas : ours;
    if (parallel < 1) parallel = 1;
    atomic_store(&g_current, blas);
    atomic_store(&g_parallel, parallel);
  }
  int want = m * n * k < SERIAL_MNK ? 1 : parallel;
  if (atomic_load(&g_current) != want) {
    openblas_set_num_threads(want);
    atomic_store(&g_current, want);
  }
}
#else
void loom_blas_prepare(int64_t m, int64_t n, int64_t k) { (void)m; (void)n; (void)k; }
#endif
