// bfloat16 GEMMs (C = op(A)·op(B) + beta·C, A and B bf16, float32 accumulation, C in float32
// or bf16) through oneDNN's matmul primitive, split over Loom's pool like `loom_sgemm`. Used
// only where oneDNN has a native kernel for the CPU (AVX512-BF16 or AMX); elsewhere its bf16
// matmul is a reference loop, and Loom keeps its convert-to-float32 path (see CPUBackendMatmul).
#include "kern_internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


// Without a native kernel: float32 copies and `loom_sgemm`, one rounding of C — what the native
// kernel computes. A (activations) is converted whole; B (weights) a block of about 4 MiB of
// float32 at a time, so a half-precision model never has a float32 copy of a weight matrix
// (the language-model head is 150 MiB in float32 for GPT-2).
static int gemm_half_in_f32(int is_f16, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                            const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb, float beta, void *c,
                            int64_t ldc, int c_is_half) {
  void (*widen)(const uint16_t *, float *, int64_t) = is_f16 ? loom_f16_to_f32 : loom_bf16_to_f32;
  void (*narrow)(const float *, uint16_t *, int64_t) = is_f16 ? loom_f32_to_f16 : loom_f32_to_bf16;
  int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  int64_t block = (int64_t)1 << 20;  // float32 elements of B per block
  int64_t nb = block / (k > 0 ? k : 1);
  if (nb < 16) nb = 16;
  if (nb > n) nb = n;
  float *af = malloc(sizeof(float) * (size_t)(a_rows * a_cols));
  float *bf = malloc(sizeof(float) * (size_t)(k * nb));
  float *cf = c_is_half ? malloc(sizeof(float) * (size_t)(m * nb)) : NULL;
  int ok = af && bf && (cf || !c_is_half);
  if (ok) {
    for (int64_t r = 0; r < a_rows; r++) widen(a + r * lda, af + r * a_cols, a_cols);
    for (int64_t j0 = 0; j0 < n; j0 += nb) {
      int64_t w = n - j0 < nb ? n - j0 : nb;
      int64_t ldb_f;
      if (trans_b) {  // B stored [n, k]: output columns j0..<j0+w are rows of it
        for (int64_t r = 0; r < w; r++) widen(b + (j0 + r) * ldb, bf + r * k, k);
        ldb_f = k;
      } else {  // B stored [k, n]: the block's columns of every row
        for (int64_t r = 0; r < k; r++) widen(b + r * ldb + j0, bf + r * w, w);
        ldb_f = w;
      }
      if (c_is_half) {
        uint16_t *ch = (uint16_t *)c;
        if (beta != 0)
          for (int64_t i = 0; i < m; i++) widen(ch + i * ldc + j0, cf + i * w, w);
        loom_sgemm(trans_a, trans_b, m, w, k, 1, af, a_cols, bf, ldb_f, beta, cf, w);
        for (int64_t i = 0; i < m; i++) narrow(cf + i * w, ch + i * ldc + j0, w);
      } else {
        loom_sgemm(trans_a, trans_b, m, w, k, 1, af, a_cols, bf, ldb_f, beta, (float *)c + j0, ldc);
      }
    }
  }
  free(af);
  free(bf);
  free(cf);
  return ok;
}

// One-row products (decoding) read the weight once in the ISA's bf16 GEMV, split over the pool
// by output columns; oneDNN's matmul and the widening path both do worse at m = 1.
typedef struct {
  const loom_ktable *kt;
  const float *x;
  const uint16_t *w;
  int64_t ldw, k;
  float *y;
  int dot;
} gemv_bf16_ctx;

static void gemv_bf16_range(void *ctx, int64_t lo, int64_t hi) {
  const gemv_bf16_ctx *g = ctx;
  if (g->dot) g->kt->bf16_gemv_dot(g->x, g->w, g->ldw, g->k, g->y, lo, hi);
  else g->kt->bf16_gemv_axpy(g->x, g->w, g->ldw, g->k, g->y, lo, hi);
}

static int gemv_bf16(int trans_a, int trans_b, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                     const uint16_t *b, int64_t ldb, float beta, void *c, int c_is_bf16) {
  float *x = malloc(sizeof(float) * (size_t)k);
  int direct = !c_is_bf16 && beta == 0;
  float *y = direct ? (float *)c : malloc(sizeof(float) * (size_t)n);
  if (!x || !y) {
    free(x);
    if (!direct) free(y);
    return 0;
  }
  if (trans_a) {  // A stored [k, 1]: its column, lda apart
    for (int64_t i = 0; i < k; i++) {
      uint16_t h = a[i * lda];
      loom_bf16_to_f32(&h, x + i, 1);
    }
  } else {
    loom_bf16_to_f32(a, x, k);
  }
  gemv_bf16_ctx g = {KT(), x, b, ldb, k, y, trans_b};
  // ~64 KiB of weights per chunk at least: waking the pool costs a few µs.
  int64_t grain = (32768 + k - 1) / k;
  if (grain < 16) grain = 16;
  loom_parallel_for(n, grain, gemv_bf16_range, &g);
  if (c_is_bf16) {
    uint16_t *ch = c;
    if (beta != 0) {
      float *old = malloc(sizeof(float) * (size_t)n);
      if (!old) {
        free(x);
        free(y);
        return 0;
      }
      loom_bf16_to_f32(ch, old, n);
      for (int64_t j = 0; j < n; j++) y[j] += old[j];
      free(old);
    }
    loom_f32_to_bf16(y, ch, n);
  } else if (!direct) {
    float *cf = c;
    for (int64_t j = 0; j < n; j++) cf[j] += y[j];
  }
  free(x);
  if (!direct) free(y);
  return 1;
}

static int gemm_bf16_in_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                            int64_t lda, const uint16_t *b, int64_t ldb, float beta, void *c, int64_t ldc,
                            int c_is_bf16) {
  return gemm_half_in_f32(0, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, c_is_bf16);
}

static void zero_rows(void *c, int64_t m, int64_t n, int64_t ldc, size_t size) {
  for (int64_t i = 0; i < m; i++) memset((char *)c + (size_t)(i * ldc) * size, 0, (size_t)n * size);
}

// What every half GEMM settles the same way: an empty C, and k = 0 (C = 0, or left as it is when accumulating).
// Returns 1 when it settled the call.
static int half_gemm_trivial(int64_t m, int64_t n, int64_t k, float beta, void *c, int64_t ldc, int c_is_half) {
  if (m <= 0 || n <= 0) return 1;
  if (k > 0) return 0;
  if (beta == 0) zero_rows(c, m, n, ldc, c_is_half ? 2 : 4);
  return 1;
}

// The start shared by both builds of loom_gemm_bf16: the trivial cases, and one-row products (decode) through
// the ISA kernels. Returns the call's result, or -1 when the caller runs the product.
static int bf16_gemm_start(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                           int64_t lda, const uint16_t *b, int64_t ldb, float beta, void *c, int64_t ldc,
                           int c_is_bf16) {
  if (half_gemm_trivial(m, n, k, beta, c, ldc, c_is_bf16)) return 1;
  if (m == 1) return gemv_bf16(trans_a, trans_b, n, k, a, lda, b, ldb, beta, c, c_is_bf16);
  return -1;
}

int loom_gemm_f16(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                  const uint16_t *b, int64_t ldb, float beta, void *c, int64_t ldc, int c_is_f16) {
  if (half_gemm_trivial(m, n, k, beta, c, ldc, c_is_f16)) return 1;
  return gemm_half_in_f32(1, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, c_is_f16);
}

#if defined(__APPLE__) || !defined(__x86_64__)
int loom_has_bf16_gemm(void) { return 0; }
int loom_gemm_bf16(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                   const uint16_t *b, int64_t ldb, float beta, void *c, int64_t ldc, int c_is_bf16) {
  int settled = bf16_gemm_start(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, c_is_bf16);
  if (settled >= 0) return settled;
  return gemm_bf16_in_f32(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, c_is_bf16);
}
#else
#include <oneapi/dnnl/dnnl.h>
void omp_set_num_threads(int);
int omp_get_max_threads(void);

static dnnl_engine_t g_engine;
static int g_available;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void bf16_setup(void) {
  const char *e = getenv("LOOM_BF16_GEMM");
  if (e && (!strcmp(e, "0") || !strcasecmp(e, "off"))) return;
  // oneDNN's own CPU detection: bf16 dot products (avx512_core_bf16) or AMX tiles.
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  if ((isa & dnnl_cpu_isa_avx512_core_bf16) != dnnl_cpu_isa_avx512_core_bf16) return;
  if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) return;
  g_available = 1;
}

int loom_has_bf16_gemm(void) {
  pthread_once(&g_once, bf16_setup);
  return g_available;
}

// One primitive per GEMM shape and layout; a training step uses a few dozen.
typedef struct {
  int64_t m, n, k, lda, ldb, ldc;
  int ta, tb, accumulate, c_is_bf16;
  dnnl_primitive_t primitive;  // NULL: oneDNN has no native kernel for it
  dnnl_memory_desc_t a_md, b_md, c_md, scratch_md;
} bf16_plan;

#define PLAN_CAPACITY 256
static bf16_plan g_plans[PLAN_CAPACITY];
static int g_plan_count;
static pthread_mutex_t g_plan_lock = PTHREAD_MUTEX_INITIALIZER;

static void strided_md(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, int64_t ld, int transposed,
                       dnnl_data_type_t type) {
  dnnl_dims_t dims = {rows, cols};
  dnnl_dims_t strides = {transposed ? 1 : ld, transposed ? ld : 1};
  dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides);
}

static int plan_create(bf16_plan *p) {
  strided_md(&p->a_md, p->m, p->k, p->lda, p->ta, dnnl_bf16);
  strided_md(&p->b_md, p->k, p->n, p->ldb, p->tb, dnnl_bf16);
  strided_md(&p->c_md, p->m, p->n, p->ldc, 0, p->c_is_bf16 ? dnnl_bf16 : dnnl_f32);
  dnnl_matmul_desc_t desc;
  if (dnnl_matmul_desc_init(&desc, &p->a_md, &p->b_md, NULL, &p->c_md) != dnnl_success) return 0;
  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return 0;
  // Blocks of one GEMM run the same primitive at once on several threads: each brings its own
  // scratchpad (a primitive's library-managed one is shared).
  dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
  if (p->accumulate) {
    dnnl_post_ops_t ops;
    dnnl_post_ops_create(&ops);
    dnnl_post_ops_append_sum(ops, 1.0f);
    dnnl_primitive_attr_set_post_ops(attr, ops);
    dnnl_post_ops_destroy(ops);
  }
  dnnl_primitive_desc_t pd;
  dnnl_status_t st = dnnl_primitive_desc_create(&pd, &desc, attr, g_engine, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success) return 0;
  const char *impl = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  // A reference implementation is orders of magnitude slower than converting to float32.
  if (!impl || strstr(impl, "ref")) {
    dnnl_primitive_desc_destroy(pd);
    return 0;
  }
  const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (scratch) p->scratch_md = *scratch;
  st = dnnl_primitive_create(&p->primitive, pd);
  dnnl_primitive_desc_destroy(pd);
  return st == dnnl_success;
}

static const bf16_plan *plan_for(int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                                 int64_t ldc, int accumulate, int c_is_bf16) {
  pthread_mutex_lock(&g_plan_lock);
  for (int i = 0; i < g_plan_count; i++) {
    bf16_plan *p = &g_plans[i];
    if (p->m == m && p->n == n && p->k == k && p->lda == lda && p->ldb == ldb && p->ldc == ldc && p->ta == ta &&
        p->tb == tb && p->accumulate == accumulate && p->c_is_bf16 == c_is_bf16) {
      pthread_mutex_unlock(&g_plan_lock);
      return p;
    }
  }
  if (g_plan_count == PLAN_CAPACITY) {
    // Many distinct shapes (variable sequence lengths): start over.
    for (int i = 0; i < g_plan_count; i++)
      if (g_plans[i].primitive) dnnl_primitive_destroy(g_plans[i].primitive);
    g_plan_count = 0;
  }
  bf16_plan *p = &g_plans[g_plan_count];
  memset(p, 0, sizeof *p);
  p->m = m, p->n = n, p->k = k, p->lda = lda, p->ldb = ldb, p->ldc = ldc;
  p->ta = ta, p->tb = tb, p->accumulate = accumulate, p->c_is_bf16 = c_is_bf16;
  // oneDNN's primitive creation starts its own OpenMP team for JIT set-up: keep it on this thread.
  int threads = omp_get_max_threads();
  if (threads != 1) omp_set_num_threads(1);
  if (!plan_create(p)) p->primitive = NULL;
  if (threads != 1) omp_set_num_threads(threads);
  g_plan_count++;
  pthread_mutex_unlock(&g_plan_lock);
  return p;
}

// Each thread's scratchpad, grown to the largest plan it has run.
static __thread void *t_scratch;
static __thread size_t t_scratch_size;

static int plan_run(const bf16_plan *p, const uint16_t *a, const uint16_t *b, void *c) {
  size_t scratch_size = dnnl_memory_desc_get_size(&p->scratch_md);
  if (scratch_size > t_scratch_size) {
    free(t_scratch);
    t_scratch = NULL;
    t_scratch_size = 0;
    if (posix_memalign(&t_scratch, 64, scratch_size) != 0) return 0;
    t_scratch_size = scratch_size;
  }
  int threads = omp_get_max_threads();
  if (threads != 1) omp_set_num_threads(1);
  dnnl_stream_t stream;
  dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, ms = NULL;
  int ok = dnnl_stream_create(&stream, g_engine, dnnl_stream_default_flags) == dnnl_success;
  if (ok) {
    ok = dnnl_memory_create(&ma, &p->a_md, g_engine, (void *)a) == dnnl_success &&
         dnnl_memory_create(&mb, &p->b_md, g_engine, (void *)b) == dnnl_success &&
         dnnl_memory_create(&mc, &p->c_md, g_engine, c) == dnnl_success &&
         dnnl_memory_create(&ms, &p->scratch_md, g_engine, t_scratch) == dnnl_success;
    if (ok) {
      dnnl_exec_arg_t args[4] = {
          {DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, ms}};
      ok = dnnl_primitive_execute(p->primitive, stream, 4, args) == dnnl_success &&
           dnnl_stream_wait(stream) == dnnl_success;
    }
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    if (ms) dnnl_memory_destroy(ms);
    dnnl_stream_destroy(stream);
  }
  if (threads != 1) omp_set_num_threads(threads);
  return ok;
}

typedef struct {
  int ta, tb, accumulate, c_is_bf16, by_rows;
  int64_t m, n, k, lda, ldb, ldc;
  const uint16_t *a, *b;
  char *c;
  size_t c_size;
  _Atomic int failed;
} bf16_ctx;

static void bf16_block(void *ctx, int64_t lo, int64_t hi) {
  bf16_ctx *g = ctx;
  const uint16_t *a = g->a, *b = g->b;
  char *c = g->c;
  int64_t m = g->m, n = g->n;
  if (g->by_rows) {
    a = g->ta ? a + lo : a + lo * g->lda;
    c += (size_t)(lo * g->ldc) * g->c_size;
    m = hi - lo;
  } else {
    b = g->tb ? b + lo * g->ldb : b + lo;
    c += (size_t)lo * g->c_size;
    n = hi - lo;
  }
  const bf16_plan *p = plan_for(g->ta, g->tb, m, n, g->k, g->lda, g->ldb, g->ldc, g->accumulate, g->c_is_bf16);
  if (!p->primitive || !plan_run(p, a, b, c)) g->failed = 1;
}

// Below this many multiply-adds a GEMM runs on the calling thread.
#define BF16_SERIAL_MNK ((int64_t)4 * 1024 * 1024)

int loom_gemm_bf16(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                   const uint16_t *b, int64_t ldb, float beta, void *c, int64_t ldc, int c_is_bf16) {
  int settled = bf16_gemm_start(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, c_is_bf16);
  if (settled >= 0) return settled;
  if (!loom_has_bf16_gemm())
    return gemm_bf16_in_f32(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, c_is_bf16);
  bf16_ctx g = {trans_a, trans_b, beta != 0, c_is_bf16, m >= n, m, n, k, lda, ldb, ldc, a, b, c,
                c_is_bf16 ? 2 : 4, 0};
  int64_t extent = g.by_rows ? m : n;
  int nt = loom_num_threads();
  // The whole product's plan is made first: a shape oneDNN cannot run natively is refused
  // before any block has written into C.
  if (m * n * k < BF16_SERIAL_MNK || nt <= 1) {
    const bf16_plan *p = plan_for(trans_a, trans_b, m, n, k, lda, ldb, ldc, g.accumulate, c_is_bf16);
    if (p->primitive && plan_run(p, a, b, c)) return 1;
    return gemm_bf16_in_f32(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, c_is_bf16);
  }
  int64_t per = (extent + nt - 1) / nt;
  per = (per + 15) / 16 * 16;
  int64_t first = per < extent ? per : extent;
  const bf16_plan *probe = plan_for(trans_a, trans_b, g.by_rows ? first : m, g.by_rows ? n : first, k, lda, ldb, ldc,
                                    g.accumulate, c_is_bf16);
  if (!probe->primitive)
    return gemm_bf16_in_f32(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, c_is_bf16);
  loom_parallel_for(extent, per, bf16_block, &g);
  return !g.failed;
}
#endif
