// The GEMM engines behind `loom_sgemm`'s single-threaded blocks: OpenBLAS, and on Linux
// oneDNN for products whose A is not transposed. Measured per shape on the GPT block's
// GEMMs (single thread, medians): oneDNN's JIT kernels are 8-15% faster for x·Wᵀ and
// dY·W, and 10-20% slower when A is transposed (weight gradients dYᵀ·X), where
// OpenBLAS stays. LOOM_GEMM=openblas uses OpenBLAS for everything.
#include "kern_internal.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
// oneDNN's OpenMP runtime (libgomp); its header is not on clang's path.
void omp_set_num_threads(int);
int omp_get_max_threads(void);
#endif

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

static void fix_openblas_core(void) {
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


#if !defined(__APPLE__)
static int g_use_dnnl = 1;
#endif

__attribute__((constructor)) static void gemm_engines_setup(void) {
#if !defined(__APPLE__)
#if defined(__x86_64__)
  fix_openblas_core();
#endif
  const char *e = getenv("LOOM_GEMM");
  if (e && !strcasecmp(e, "openblas")) g_use_dnnl = 0;
#endif
}

const char *loom_gemm_engine(void) {
#if defined(__APPLE__)
  return "accelerate";
#else
  return g_use_dnnl ? "onednn+openblas" : "openblas";
#endif
}

void loom_sgemm_serial(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
#if !defined(__APPLE__)
  // Small untransposed products (attention's 64×64×64 P·V and dS·K blocks) ran 17% slower in
  // oneDNN than in OpenBLAS; with a transposed B (Q·Kᵀ) oneDNN was 17% faster.
  if (g_use_dnnl && !trans_a && k > 0 && (trans_b || m * n * k >= ((int64_t)1 << 20))) {
    // oneDNN would start an OpenMP team per call; Loom's pool already splits the work. The
    // thread count is a per-thread OpenMP setting: lower it for this call only, so an
    // application's own OpenMP regions on this thread keep theirs.
    int threads = omp_get_max_threads();
    if (threads != 1) omp_set_num_threads(1);
    dnnl_status_t status = dnnl_sgemm('N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (threads != 1) omp_set_num_threads(threads);
    if (status == dnnl_success) return;
  }
#endif
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
              (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}
