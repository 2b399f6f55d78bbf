// Convolutions on oneDNN primitives. Like the GEMMs (blas_threads.c), oneDNN runs
// single-threaded and Loom's pool splits the work: the batch is cut into one slice per
// thread, each slice runs its own primitive (so no OpenMP team spins beside Loom's pool).
// Weight gradients of the slices are summed afterwards.
//
// Tensors stay NCHW for the caller. oneDNN picks its blocked layouts (nChw16c …) and each
// slice is reordered in and out around the primitive: its direct JIT kernels on blocked
// data beat the GEMM-based kernels it uses for plain NCHW by far more than the reorders
// cost (2-4× on the U-Net and DCGAN shapes), except for an input of few channels, which
// stays NCHW throughout (layout_blocked). LOOM_CONV_LAYOUT=plain|blocked forces one (for measuring).
//
// Primitives (with their reorders) are cached per geometry, slice batch and pass.
#include "loom_conv.h"
#include "kern_internal.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__APPLE__)

int loom_conv_available(void) { return 0; }
int loom_conv2d_forward_f32(const loom_conv_shape *s, const float *x, const float *w, const float *bias,
                            float *y) {
  (void)s, (void)x, (void)w, (void)bias, (void)y;
  return 1;
}
int loom_conv2d_backward_data_f32(const loom_conv_shape *s, const float *gy, const float *w, float *gx) {
  (void)s, (void)gy, (void)w, (void)gx;
  return 1;
}
int loom_conv2d_backward_weights_f32(const loom_conv_shape *s, const float *x, const float *gy, float *gw,
                                     float *gbias) {
  (void)s, (void)x, (void)gy, (void)gw, (void)gbias;
  return 1;
}

#else

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
void omp_set_num_threads(int);
int omp_get_max_threads(void);

enum { PASS_FWD = 0, PASS_BWD_DATA = 1, PASS_BWD_WEIGHTS = 2 };

static int g_conv_enabled = 1;
// 1 blocked everywhere, 0 plain everywhere, 2 (default) by shape: see layout_blocked.
static int g_conv_layout = 2;
static dnnl_engine_t g_engine;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void conv_setup(void) {
  const char *e = getenv("LOOM_CONV");
  if (e && !strcasecmp(e, "im2col")) g_conv_enabled = 0;
  const char *l = getenv("LOOM_CONV_LAYOUT");
  if (l && !strcasecmp(l, "plain")) g_conv_layout = 0;
  if (l && !strcasecmp(l, "blocked")) g_conv_layout = 1;
  if (g_conv_enabled && dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) g_conv_enabled = 0;
}

int loom_conv_available(void) {
  pthread_once(&g_once, conv_setup);
  return g_conv_enabled;
}

// One pass's primitive for one slice geometry. The three tensors are named by role:
// `in1`, `in2` the inputs and `out` the output of the pass (fwd: src, weights → dst;
// backward-data: diff_dst, weights → diff_src; backward-weights: src, diff_dst →
// diff_weights). Each has a user (plain) descriptor, the primitive's descriptor, and a
// reorder between them when they differ.
typedef struct conv_entry {
  loom_conv_shape s;  // s.n is the slice batch
  int pass, bias;
  dnnl_primitive_t prim;
  dnnl_memory_desc_t user_md[3], prim_md[3];
  dnnl_primitive_t reorder[3];  // user→prim for in1, in2; prim→user for out
  size_t prim_bytes[3], scratch_bytes;
  struct conv_entry *next;
} conv_entry;

#define CACHE_LIMIT 512
static conv_entry *g_cache;
static int g_cache_count;
static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static void weights_md(dnnl_memory_desc_t *md, const loom_conv_shape *s, int any) {
  if (s->groups > 1) {
    dnnl_dims_t dims = {s->groups, s->o / s->groups, s->c / s->groups, s->kh, s->kw};
    dnnl_memory_desc_init_by_tag(md, 5, dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_goihw);
  } else {
    dnnl_dims_t dims = {s->o, s->c, s->kh, s->kw};
    dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_oihw);
  }
}

static void activation_md(dnnl_memory_desc_t *md, int64_t n, int64_t c, int64_t h, int64_t w, int any) {
  dnnl_dims_t dims = {n, c, h, w};
  dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_nchw);
}

// The forward descriptor (also the hint the backward passes need).
static dnnl_status_t forward_desc(dnnl_convolution_desc_t *cd, const loom_conv_shape *s, int any, int bias,
                                  dnnl_prop_kind_t prop) {
  dnnl_memory_desc_t src, wei, dst, b;
  activation_md(&src, s->n, s->c, s->h, s->w, any);
  weights_md(&wei, s, any);
  activation_md(&dst, s->n, s->o, s->oh, s->ow, any);
  dnnl_dims_t bdims = {s->o};
  dnnl_memory_desc_init_by_tag(&b, 1, bdims, dnnl_f32, dnnl_x);
  // oneDNN checks (src − kernel extent + pad_l + pad_r) / stride + 1 == dst with integer
  // division, which is PyTorch's floor with symmetric padding.
  dnnl_dims_t strides = {s->sh, s->sw}, dil = {s->dh - 1, s->dw - 1}, pad = {s->ph, s->pw};
  return dnnl_dilated_convolution_forward_desc_init(cd, prop, dnnl_convolution_direct, &src, &wei,
                                                    bias ? &b : NULL, &dst, strides, dil, pad, pad);
}

static dnnl_status_t make_reorder(dnnl_primitive_t *r, const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to) {
  *r = NULL;
  if (dnnl_memory_desc_equal(from, to)) return dnnl_success;
  dnnl_primitive_desc_t pd;
  dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, from, g_engine, to, g_engine, NULL);
  if (st != dnnl_success) return st;
  st = dnnl_primitive_create(r, pd);
  dnnl_primitive_desc_destroy(pd);
  return st;
}

static void entry_destroy(conv_entry *e) {
  if (e->prim) dnnl_primitive_destroy(e->prim);
  for (int i = 0; i < 3; i++)
    if (e->reorder[i]) dnnl_primitive_destroy(e->reorder[i]);
  free(e);
}

// Whether the primitive may take blocked layouts. With few input channels (images: 1 or
// 3) blocking pads them to 16: such layers measured 2-5× slower blocked than all-NCHW.
static int layout_blocked(const loom_conv_shape *s) {
  if (g_conv_layout != 2) return g_conv_layout;
  return s->c / s->groups >= 8;
}

static conv_entry *entry_create(const loom_conv_shape *s, int pass, int bias) {
  conv_entry *e = calloc(1, sizeof(conv_entry));
  if (!e) return NULL;
  e->s = *s;
  e->pass = pass;
  e->bias = bias;
  int any = layout_blocked(s);
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL;
  dnnl_convolution_desc_t fd, bd;
  dnnl_status_t st = dnnl_primitive_attr_create(&attr);
  if (st == dnnl_success) st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
  int fwd_bias = pass == PASS_FWD ? bias : 0;
  if (st == dnnl_success)
    st = forward_desc(&fd, s, any, pass == PASS_BWD_WEIGHTS ? bias : fwd_bias,
                      pass == PASS_FWD ? dnnl_forward_inference : dnnl_forward_training);
  if (st == dnnl_success) st = dnnl_primitive_desc_create(&fwd_pd, &fd, pass == PASS_FWD ? attr : NULL, g_engine, NULL);
  dnnl_query_t q[3];
  if (st == dnnl_success) {
    if (pass == PASS_FWD) {
      pd = fwd_pd;
      fwd_pd = NULL;
      q[0] = dnnl_query_src_md, q[1] = dnnl_query_weights_md, q[2] = dnnl_query_dst_md;
    } else if (pass == PASS_BWD_DATA) {
      st = dnnl_dilated_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &fd.src_desc,
                                                            &fd.weights_desc, &fd.dst_desc, fd.strides,
                                                            fd.dilates, fd.padding[0], fd.padding[1]);
      if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &bd, attr, g_engine, fwd_pd);
      q[0] = dnnl_query_diff_dst_md, q[1] = dnnl_query_weights_md, q[2] = dnnl_query_diff_src_md;
    } else {
      st = dnnl_dilated_convolution_backward_weights_desc_init(
          &bd, dnnl_convolution_direct, &fd.src_desc, &fd.weights_desc, bias ? &fd.bias_desc : NULL,
          &fd.dst_desc, fd.strides, fd.dilates, fd.padding[0], fd.padding[1]);
      if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &bd, attr, g_engine, fwd_pd);
      q[0] = dnnl_query_src_md, q[1] = dnnl_query_diff_dst_md, q[2] = dnnl_query_diff_weights_md;
    }
  }
  if (fwd_pd) dnnl_primitive_desc_destroy(fwd_pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success) {
    if (pd) dnnl_primitive_desc_destroy(pd);
    free(e);
    return NULL;
  }
  // The caller's NCHW / OIHW descriptors for the three roles.
  dnnl_memory_desc_t x_md, y_md, w_md;
  activation_md(&x_md, s->n, s->c, s->h, s->w, 0);
  activation_md(&y_md, s->n, s->o, s->oh, s->ow, 0);
  weights_md(&w_md, s, 0);
  const dnnl_memory_desc_t *user[3][3] = {{&x_md, &w_md, &y_md}, {&y_md, &w_md, &x_md}, {&x_md, &y_md, &w_md}};
  for (int i = 0; i < 3; i++) {
    e->user_md[i] = *user[pass][i];
    e->prim_md[i] = *dnnl_primitive_desc_query_md(pd, q[i], 0);
    e->prim_bytes[i] = dnnl_memory_desc_get_size(&e->prim_md[i]);
    if (st == dnnl_success)
      st = i < 2 ? make_reorder(&e->reorder[i], &e->user_md[i], &e->prim_md[i])
                 : make_reorder(&e->reorder[i], &e->prim_md[i], &e->user_md[i]);
  }
  e->scratch_bytes = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
  if (st == dnnl_success) st = dnnl_primitive_create(&e->prim, pd);
  dnnl_primitive_desc_destroy(pd);
  if (st != dnnl_success) {
    entry_destroy(e);
    return NULL;
  }
  return e;
}

// Cached entry for (geometry, pass, bias); `*owned` is set when the cache is full and the
// caller must destroy it after use.
static conv_entry *entry_get(const loom_conv_shape *s, int pass, int bias, int *owned) {
  *owned = 0;
  pthread_mutex_lock(&g_cache_mu);
  for (conv_entry *e = g_cache; e; e = e->next)
    if (e->pass == pass && e->bias == bias && !memcmp(&e->s, s, sizeof(*s))) {
      pthread_mutex_unlock(&g_cache_mu);
      return e;
    }
  // Kernels fix their thread count when created: create them single-threaded too.
  int threads = omp_get_max_threads();
  if (threads != 1) omp_set_num_threads(1);
  conv_entry *e = entry_create(s, pass, bias);
  if (threads != 1) omp_set_num_threads(threads);
  if (e && g_cache_count < CACHE_LIMIT) {
    e->next = g_cache;
    g_cache = e;
    g_cache_count++;
  } else if (e) {
    *owned = 1;
  }
  pthread_mutex_unlock(&g_cache_mu);
  return e;
}

// Grow-only per-thread buffers for the blocked copies and the scratchpad (4 slots), so a
// training step does not map and fault fresh pages on every call.
typedef struct {
  void *p;
  size_t n;
} tl_buffer;
static __thread tl_buffer tl_bufs[4];

static void *tl_get(int slot, size_t bytes) {
  tl_buffer *b = &tl_bufs[slot];
  if (b->n < bytes) {
    free(b->p);
    size_t n = (bytes + 4095) & ~(size_t)4095;
    b->p = aligned_alloc(64, n);
    b->n = b->p ? n : 0;
  }
  return b->p;
}

static dnnl_status_t run_reorder(dnnl_primitive_t r, dnnl_stream_t stream, const dnnl_memory_desc_t *from_md,
                                 void *from, const dnnl_memory_desc_t *to_md, void *to) {
  dnnl_memory_t a, b;
  dnnl_status_t st = dnnl_memory_create(&a, from_md, g_engine, from);
  if (st != dnnl_success) return st;
  st = dnnl_memory_create(&b, to_md, g_engine, to);
  if (st == dnnl_success) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
    st = dnnl_primitive_execute(r, stream, 2, args);
    dnnl_memory_destroy(b);
  }
  dnnl_memory_destroy(a);
  return st;
}

// Runs one pass of `e` on one slice: user buffers in1, in2 → out (+ bias in or out).
static dnnl_status_t run_entry(const conv_entry *e, const void *in1, const void *in2, void *out, void *bias) {
  static const int arg_ids[3][4] = {
      {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS},
      {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC, 0},
      {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS},
  };
  int threads = omp_get_max_threads();
  if (threads != 1) omp_set_num_threads(1);
  dnnl_stream_t stream;
  dnnl_status_t st = dnnl_stream_create(&stream, g_engine, dnnl_stream_default_flags);
  if (st != dnnl_success) {
    if (threads != 1) omp_set_num_threads(threads);
    return st;
  }
  void *user[3] = {(void *)in1, (void *)in2, out};
  void *prim[3];
  for (int i = 0; i < 3 && st == dnnl_success; i++) {
    prim[i] = e->reorder[i] ? tl_get(i, e->prim_bytes[i]) : user[i];
    if (!prim[i]) st = dnnl_out_of_memory;
    else if (i < 2 && e->reorder[i])
      st = run_reorder(e->reorder[i], stream, &e->user_md[i], user[i], &e->prim_md[i], prim[i]);
  }
  dnnl_memory_t mem[5] = {0};
  int nargs = 0;
  dnnl_exec_arg_t args[5];
  for (int i = 0; i < 3 && st == dnnl_success; i++) {
    st = dnnl_memory_create(&mem[i], &e->prim_md[i], g_engine, prim[i]);
    args[nargs++] = (dnnl_exec_arg_t){arg_ids[e->pass][i], mem[i]};
  }
  if (st == dnnl_success && bias && arg_ids[e->pass][3]) {
    dnnl_memory_desc_t bmd;
    dnnl_dims_t bdims = {e->s.o};
    dnnl_memory_desc_init_by_tag(&bmd, 1, bdims, dnnl_f32, dnnl_x);
    st = dnnl_memory_create(&mem[3], &bmd, g_engine, bias);
    args[nargs++] = (dnnl_exec_arg_t){arg_ids[e->pass][3], mem[3]};
  }
  if (st == dnnl_success && e->scratch_bytes) {
    void *sp = tl_get(3, e->scratch_bytes);
    dnnl_memory_desc_t smd;
    dnnl_dims_t sdims = {(dnnl_dim_t)e->scratch_bytes};
    dnnl_memory_desc_init_by_tag(&smd, 1, sdims, dnnl_u8, dnnl_x);
    st = sp ? dnnl_memory_create(&mem[4], &smd, g_engine, sp) : dnnl_out_of_memory;
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mem[4]};
  }
  if (st == dnnl_success) st = dnnl_primitive_execute(e->prim, stream, nargs, args);
  if (st == dnnl_success && e->reorder[2])
    st = run_reorder(e->reorder[2], stream, &e->prim_md[2], prim[2], &e->user_md[2], out);
  if (st == dnnl_success) st = dnnl_stream_wait(stream);
  for (int i = 0; i < 5; i++)
    if (mem[i]) dnnl_memory_destroy(mem[i]);
  dnnl_stream_destroy(stream);
  if (threads != 1) omp_set_num_threads(threads);
  return st;
}

// One call split into batch slices over the pool.
typedef struct {
  const loom_conv_shape *s;
  int pass, nslices;
  const float *in1, *in2;
  float *out, *bias;
  float *partial;  // backward-weights: slices ≥ 1 write their weight (and bias) gradients here
  int64_t wcount;
  _Atomic int failed;
} conv_job;

static void slice_range(const conv_job *j, int64_t i, int64_t *lo, int64_t *hi) {
  *lo = j->s->n * i / j->nslices;
  *hi = j->s->n * (i + 1) / j->nslices;
}

static void conv_slices(void *ctx, int64_t begin, int64_t end) {
  conv_job *j = ctx;
  const loom_conv_shape *s = j->s;
  int64_t xs = s->c * s->h * s->w, ys = s->o * s->oh * s->ow;
  for (int64_t i = begin; i < end; i++) {
    int64_t lo, hi;
    slice_range(j, i, &lo, &hi);
    loom_conv_shape ss = *s;
    ss.n = hi - lo;
    int has_bias = j->bias != NULL;
    int owned;
    conv_entry *e = entry_get(&ss, j->pass, has_bias, &owned);
    if (!e) {
      j->failed = 1;
      return;
    }
    dnnl_status_t st;
    if (j->pass == PASS_FWD) {
      st = run_entry(e, j->in1 + lo * xs, j->in2, j->out + lo * ys, j->bias);
    } else if (j->pass == PASS_BWD_DATA) {
      st = run_entry(e, j->in1 + lo * ys, j->in2, j->out + lo * xs, NULL);
    } else {
      float *gw = i == 0 ? j->out : j->partial + (i - 1) * (j->wcount + s->o);
      float *gb = !has_bias ? NULL : i == 0 ? j->bias : gw + j->wcount;
      st = run_entry(e, j->in1 + lo * xs, j->in2 + lo * ys, gw, gb);
    }
    if (owned) entry_destroy(e);
    if (st != dnnl_success) j->failed = 1;
  }
}

static int conv_run(const loom_conv_shape *s, int pass, const float *in1, const float *in2, float *out,
                    float *bias) {
  if (!loom_conv_available()) return 1;
  if (s->n <= 0 || s->groups <= 0 || s->c % s->groups || s->o % s->groups) return 1;
  int nt = loom_num_threads();
  int64_t nslices = s->n < nt ? s->n : nt;
  conv_job j = {.s = s, .pass = pass, .nslices = (int)nslices, .in1 = in1, .in2 = in2, .out = out,
                .bias = bias, .wcount = s->o * (s->c / s->groups) * s->kh * s->kw};
  if (pass == PASS_BWD_WEIGHTS && nslices > 1) {
    j.partial = malloc(sizeof(float) * (size_t)(nslices - 1) * (size_t)(j.wcount + s->o));
    if (!j.partial) return 1;
  }
  loom_parallel_for(nslices, 1, conv_slices, &j);
  if (!j.failed && j.partial) {
    // Sum the slices' weight (and bias) gradients into slice 0's.
    for (int64_t i = 1; i < nslices; i++) {
      const float *p = j.partial + (i - 1) * (j.wcount + s->o);
      loom_axpy_f32(1.0f, p, out, j.wcount);
      if (bias) loom_axpy_f32(1.0f, p + j.wcount, bias, s->o);
    }
  }
  free(j.partial);
  return j.failed ? 1 : 0;
}

int loom_conv2d_forward_f32(const loom_conv_shape *s, const float *x, const float *w, const float *bias,
                            float *y) {
  return conv_run(s, PASS_FWD, x, w, y, (float *)bias);
}

int loom_conv2d_backward_data_f32(const loom_conv_shape *s, const float *gy, const float *w, float *gx) {
  return conv_run(s, PASS_BWD_DATA, gy, w, gx, NULL);
}

int loom_conv2d_backward_weights_f32(const loom_conv_shape *s, const float *x, const float *gy, float *gw,
                                     float *gbias) {
  return conv_run(s, PASS_BWD_WEIGHTS, x, gy, gw, gbias);
}

#endif
