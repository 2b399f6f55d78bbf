// Persistent thread pool. The caller runs chunks too; workers spin briefly after
// each job (back-to-back kernels are common) and then sleep on a condvar.
// One parallel region at a time: a second concurrent caller, or a call made from
// inside a region (nested), simply runs inline.
#include "kern_internal.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

#define CLAIM_CLOSED (INT64_MAX / 2)  // `next` while a job is being set up
#define PAUSE_ITERS 200
#define SPIN_ITERS 300

typedef struct {
  loom_range_fn fn;
  void *ctx;
  int64_t n, nchunks;
  _Atomic int64_t next;  // next chunk to claim
  _Atomic int64_t done;  // chunks finished
} job_t;

static job_t g_job = {.next = CLAIM_CLOSED};
static pthread_mutex_t g_call_mu = PTHREAD_MUTEX_INITIALIZER;  // one region at a time
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;       // guards sleeping
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t g_gen;
static _Atomic int g_sleepers;
static _Atomic int g_stop;
static int g_nthreads;  // 0 = not initialised
static pthread_t *g_threads;
static int g_nworkers;
static _Thread_local int tl_in_region;

static void run_chunks(job_t *j) {
  for (;;) {
    int64_t c = atomic_fetch_add(&j->next, 1);
    int64_t nch = j->nchunks;
    if (c >= nch) return;
    int64_t b = j->n * c / nch, e = j->n * (c + 1) / nch;
    j->fn(j->ctx, b, e);
    atomic_fetch_add(&j->done, 1);
  }
}

static void *worker_main(void *arg) {
  (void)arg;
  tl_in_region = 1;
  uint64_t seen = atomic_load(&g_gen);
  for (;;) {
    int spins = 0;
    while (atomic_load(&g_gen) == seen && !atomic_load(&g_stop)) {
      // Pause briefly, then yield: the BLAS library's own threads share these cores and
      // must get them promptly while a GEMM runs between two of our kernels.
      if (++spins < PAUSE_ITERS) { CPU_RELAX(); continue; }
      if (spins < SPIN_ITERS) { sched_yield(); continue; }
      pthread_mutex_lock(&g_mu);
      atomic_fetch_add(&g_sleepers, 1);
      while (atomic_load(&g_gen) == seen && !atomic_load(&g_stop)) pthread_cond_wait(&g_cv, &g_mu);
      atomic_fetch_sub(&g_sleepers, 1);
      pthread_mutex_unlock(&g_mu);
    }
    if (atomic_load(&g_stop)) return NULL;
    seen = atomic_load(&g_gen);
    run_chunks(&g_job);
  }
}

static void stop_workers(void) {
  if (!g_nworkers) return;
  pthread_mutex_lock(&g_mu);
  atomic_store(&g_stop, 1);
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
  for (int i = 0; i < g_nworkers; i++) pthread_join(g_threads[i], NULL);
  free(g_threads);
  g_threads = NULL;
  g_nworkers = 0;
  atomic_store(&g_stop, 0);
}

static void start_workers(int n) {
  g_nthreads = n < 1 ? 1 : n;
  if (g_nthreads == 1) return;
  g_threads = calloc((size_t)(g_nthreads - 1), sizeof(pthread_t));
  for (int i = 0; i < g_nthreads - 1; i++) {
    if (pthread_create(&g_threads[i], NULL, worker_main, NULL) != 0) break;
    g_nworkers++;
  }
  g_nthreads = g_nworkers + 1;
}

static int default_threads(void) {
  const char *e = getenv("LOOM_NUM_THREADS");
  if (e && atoi(e) > 0) return atoi(e);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void init_once(void) { start_workers(default_threads()); }

int loom_num_threads(void) {
  pthread_once(&g_once, init_once);
  return g_nthreads;
}

void loom_set_num_threads(int n) {
  pthread_once(&g_once, init_once);
  pthread_mutex_lock(&g_call_mu);
  stop_workers();
  start_workers(n);
  pthread_mutex_unlock(&g_call_mu);
}

void loom_parallel_for(int64_t n, int64_t grain, loom_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int nt = loom_num_threads();
  if (n <= grain || nt <= 1 || tl_in_region || pthread_mutex_trylock(&g_call_mu) != 0) {
    fn(ctx, 0, n);
    return;
  }
  int64_t nch = (n + grain - 1) / grain;
  if (nch > g_nthreads) nch = g_nthreads;
  if (nch <= 1) {
    pthread_mutex_unlock(&g_call_mu);
    fn(ctx, 0, n);
    return;
  }
  tl_in_region = 1;
  job_t *j = &g_job;
  atomic_store(&j->next, CLAIM_CLOSED);  // late workers of the previous job claim nothing
  j->fn = fn;
  j->ctx = ctx;
  j->n = n;
  j->nchunks = nch;
  atomic_store(&j->done, 0);
  atomic_store(&j->next, 0);
  atomic_fetch_add(&g_gen, 1);
  if (atomic_load(&g_sleepers) > 0) {
    pthread_mutex_lock(&g_mu);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
  }
  run_chunks(j);
  for (int spins = 0; atomic_load(&j->done) < nch; spins++) {
    if (spins < PAUSE_ITERS) CPU_RELAX();
    else sched_yield();
  }
  tl_in_region = 0;
  pthread_mutex_unlock(&g_call_mu);
}
