// A persistent pthread pool for loom_parallel_for. Workers sleep on a condition
// variable between jobs; the calling thread takes the first chunk itself. Jobs are
// serialized by a mutex, and a parallel_for issued from inside a job runs inline.
#include "loom_kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define LOOM_MAX_THREADS 256

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;  // one job at a time
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t work_done = PTHREAD_COND_INITIALIZER;
static int pool_threads = 1;    // threads used per job, including the caller
static int workers_started = 0; // background threads alive
static unsigned long generation = 0;
static _Thread_local int inside_job = 0;

static struct {
  loom_range_fn fn;
  void *ctx;
  int64_t n;
  int chunks;
  atomic_int next_chunk;
  atomic_int remaining;
} job;

static void run_chunks(void) {
  for (;;) {
    int c = atomic_fetch_add(&job.next_chunk, 1);
    if (c >= job.chunks) break;
    int64_t begin = job.n * c / job.chunks, end = job.n * (c + 1) / job.chunks;
    if (begin < end) job.fn(job.ctx, begin, end);
    if (atomic_fetch_sub(&job.remaining, 1) == 1) {
      pthread_mutex_lock(&state_lock);
      pthread_cond_broadcast(&work_done);
      pthread_mutex_unlock(&state_lock);
    }
  }
}

static void *worker_main(void *arg) {
  (void)arg;
  inside_job = 1;
  unsigned long seen = 0;
  pthread_mutex_lock(&state_lock);
  for (;;) {
    while (generation == seen) pthread_cond_wait(&work_ready, &state_lock);
    seen = generation;
    pthread_mutex_unlock(&state_lock);
    run_chunks();
    pthread_mutex_lock(&state_lock);
  }
  return NULL;
}

static void start_workers(int wanted) {
  while (workers_started < wanted - 1 && workers_started < LOOM_MAX_THREADS - 1) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker_main, NULL) != 0) break;
    pthread_attr_destroy(&attr);
    workers_started++;
  }
}

static void pool_init(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int n = cores > 0 ? (int)cores : 1;
  const char *env = getenv("LOOM_NUM_THREADS");
  if (env && atoi(env) > 0) n = atoi(env);
  if (n > LOOM_MAX_THREADS) n = LOOM_MAX_THREADS;
  pool_threads = n;
}

int loom_num_threads(void) {
  pthread_once(&pool_once, pool_init);
  return pool_threads;
}

void loom_set_num_threads(int n) {
  pthread_once(&pool_once, pool_init);
  pthread_mutex_lock(&job_lock);
  pool_threads = n < 1 ? 1 : (n > LOOM_MAX_THREADS ? LOOM_MAX_THREADS : n);
  pthread_mutex_unlock(&job_lock);
}

void loom_parallel_for(int64_t n, int64_t grain, loom_range_fn fn, void *ctx) {
  if (n <= 0) return;
  int threads = loom_num_threads();
  if (grain < 1) grain = 1;
  if (threads <= 1 || n <= grain || inside_job) {
    fn(ctx, 0, n);
    return;
  }
  int64_t max_chunks = (n + grain - 1) / grain;
  int chunks = threads < max_chunks ? threads : (int)max_chunks;
  pthread_mutex_lock(&job_lock);
  pthread_mutex_lock(&state_lock);
  start_workers(threads);
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.chunks = chunks;
  atomic_store(&job.next_chunk, 0);
  atomic_store(&job.remaining, chunks);
  generation++;
  pthread_cond_broadcast(&work_ready);
  pthread_mutex_unlock(&state_lock);
  inside_job = 1;
  run_chunks();
  inside_job = 0;
  pthread_mutex_lock(&state_lock);
  while (atomic_load(&job.remaining) > 0) pthread_cond_wait(&work_done, &state_lock);
  pthread_mutex_unlock(&state_lock);
  pthread_mutex_unlock(&job_lock);
}
