// Flash-style attention on the CPU. See loom_attention.h.
#include "loom_attention.h"
#include "loom_kernels.h"
#include "kern_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Query rows per block (32 measured ~10% faster than 64 and than 128 on the bench's
// T = 256 heads), and the widest key block: keys go in blocks as wide as the sequence up
// to KMAX, so for GPT-sized T each query block takes one Q·Kᵀ and one P·V product over
// all the keys it sees (larger GEMMs, no online rescaling), and longer sequences stream
// over KMAX-wide blocks with the online softmax. The score buffers are BQ × KMAX per
// thread, never T × T.
enum { BQ = 32, KMAX = 512 };

/// Key block width (and row stride of the score buffers) for `tk` keys.
static int64_t key_block(int64_t tk) {
  if (tk >= KMAX) return KMAX;
  return tk < 16 ? 16 : (tk + 15) / 16 * 16;
}

float loom_attention_dropout_scale(uint64_t seed, float p, int64_t b, int64_t h, int64_t heads, int64_t r,
                                   int64_t tq, int64_t c, int64_t tk) {
  uint64_t z = seed ^ ((uint64_t)(((b * heads + h) * tq + r) * tk + c) * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  float u = (float)(z >> 40) * 0x1.0p-24f;
  return u >= p ? 1.0f / (1.0f - p) : 0.0f;
}

/// Multiplies a block of probabilities by the dropout mask.
static void apply_dropout(const loom_attn_args *a, int64_t b, int64_t h, float *p, int64_t ld, int64_t r0,
                          int64_t rows, int64_t c0, int64_t cols) {
  for (int64_t i = 0; i < rows; i++) {
    float *row = p + i * ld;
    for (int64_t c = 0; c < cols; c++)
      row[c] *= loom_attention_dropout_scale(a->seed, a->dropout_p, b, h, a->heads, r0 + i, a->tq, c0 + c, a->tk);
  }
}

static inline float *at(loom_attn_view v, int64_t b, int64_t h, int64_t t) {
  return v.data + b * v.stride_b + h * v.stride_h + t * v.stride_t;
}

/// Last key index (inclusive) query row r may see, before the key mask.
static inline int64_t key_limit(const loom_attn_args *a, int64_t r) {
  if (!a->causal) return a->tk - 1;
  int64_t lim = r + (a->tk - a->tq);
  return lim < a->tk - 1 ? lim : a->tk - 1;
}

/// The number of leading ones of batch b's key mask when the rest are zeros (right padding,
/// what tokenizers produce), else -1; tk when there is no mask.
static int64_t mask_prefix(const loom_attn_args *a, int64_t b) {
  if (!a->key_mask) return a->tk;
  const uint8_t *km = a->key_mask + b * a->key_mask_stride_b;
  int64_t n = 0;
  while (n < a->tk && km[n]) n++;
  for (int64_t c = n; c < a->tk; c++)
    if (km[c]) return -1;
  return n;
}

/// Scales one row of scores s[c] (keys c0.., `cols` of them) for query row r, masked
/// keys at -inf; returns the row's max (-inf when no key is visible). `prefix` is
/// mask_prefix's answer: a right-padding mask only shortens the visible run, so the
/// vectorised scaling masks it and the per-key pass is skipped.
static float scores_row(const loom_ktable *kt, const loom_attn_args *a, int64_t b, float *row, int64_t r,
                        int64_t c0, int64_t cols, int64_t prefix) {
  int64_t vis = key_limit(a, r) - c0 + 1;
  if (prefix >= 0 && prefix - c0 < vis) vis = prefix - c0;
  vis = vis < 0 ? 0 : (vis > cols ? cols : vis);
  float mx = kt->attn_scores(row, vis, cols, a->scale);
  if (a->key_mask && prefix < 0) {
    const uint8_t *km = a->key_mask + b * a->key_mask_stride_b + c0;
    mx = -INFINITY;
    for (int64_t c = 0; c < vis; c++) {
      if (!km[c]) row[c] = -INFINITY;
      mx = row[c] > mx ? row[c] : mx;
    }
  }
  return mx;
}

typedef struct {
  const loom_attn_args *a;
} fwd_ctx;

static void forward_range(void *ctx, int64_t begin, int64_t end) {
  const loom_attn_args *a = ((fwd_ctx *)ctx)->a;
  const loom_ktable *kt = KT();
  const int64_t bk = key_block(a->tk);
  float *s = malloc(sizeof(float) * BQ * bk);
  float m[BQ], l[BQ], alpha[BQ];
  for (int64_t bh = begin; bh < end; bh++) {
    int64_t b = bh / a->heads, h = bh % a->heads;
    const int64_t prefix = mask_prefix(a, b);
    for (int64_t r0 = 0; r0 < a->tq; r0 += BQ) {
      int64_t rows = a->tq - r0 < BQ ? a->tq - r0 : BQ;
      for (int64_t i = 0; i < rows; i++) {
        m[i] = -INFINITY;
        l[i] = 0;
        memset(at(a->o, b, h, r0 + i), 0, sizeof(float) * a->dv);
      }
      int64_t kend = key_limit(a, r0 + rows - 1) + 1;
      // Right padding: keys past the prefix get probability 0, so their Q·Kᵀ and P·V columns
      // are skipped (a batch padded to its longest row does no work for the shorter rows' pads).
      if (prefix >= 0 && prefix < kend) kend = prefix;
      for (int64_t c0 = 0; c0 < kend; c0 += bk) {
        int64_t cols = kend - c0 < bk ? kend - c0 : bk;
        loom_sgemm_serial(0, 1, rows, cols, a->d, 1.0f,
                          at(a->q, b, h, r0), a->q.stride_t, at(a->k, b, h, c0), a->k.stride_t, 0.0f, s, bk);
        for (int64_t i = 0; i < rows; i++) {
          float *row = s + i * bk;
          float bm = scores_row(kt, a, b, row, r0 + i, c0, cols, prefix);
          float mx = bm > m[i] ? bm : m[i];
          if (mx == -INFINITY) {  // nothing visible yet in this row
            alpha[i] = 1;
            memset(row, 0, sizeof(float) * cols);
            continue;
          }
          float sum = kt->exp_store_sum(row, mx, row, cols);
          alpha[i] = m[i] == -INFINITY ? 0.0f : expf(m[i] - mx);
          l[i] = l[i] * alpha[i] + sum;
          m[i] = mx;
        }
        if (a->dropout_p > 0) apply_dropout(a, b, h, s, bk, r0, rows, c0, cols);
        for (int64_t i = 0; i < rows; i++) {
          if (alpha[i] != 1.0f) {
            float *o = at(a->o, b, h, r0 + i);
            for (int64_t j = 0; j < a->dv; j++) o[j] *= alpha[i];
          }
        }
        loom_sgemm_serial(0, 0, rows, a->dv, cols, 1.0f, s, bk,
                          at(a->v, b, h, c0), a->v.stride_t, 1.0f, at(a->o, b, h, r0), a->o.stride_t);
      }
      for (int64_t i = 0; i < rows; i++) {
        float *o = at(a->o, b, h, r0 + i);
        float *lse = &a->lse[(b * a->heads + h) * a->tq + r0 + i];
        if (l[i] == 0) {
          // No visible key (a padding query row): output zeros rather than NaN, so
          // padding cannot poison real positions through P·V; +inf makes P = 0 in backward.
          memset(o, 0, sizeof(float) * a->dv);
          *lse = INFINITY;
          continue;
        }
        float inv = 1.0f / l[i];
        for (int64_t j = 0; j < a->dv; j++) o[j] *= inv;
        *lse = m[i] + logf(l[i]);
      }
    }
  }
  free(s);
}

void loom_attention_forward_f32(const loom_attn_args *args) {
  loom_blas_serial();  // the block GEMMs run inside Loom's pool workers
  fwd_ctx ctx = {args};
  loom_parallel_for(args->batch * args->heads, 1, forward_range, &ctx);
}

typedef struct {
  const loom_attn_args *a;
  loom_attn_view dout, dq, dk, dv;
} bwd_ctx;

static void backward_range(void *ctx, int64_t begin, int64_t end) {
  bwd_ctx *c = (bwd_ctx *)ctx;
  const loom_attn_args *a = c->a;
  const loom_ktable *kt = KT();
  const int64_t bk = key_block(a->tk);
  float *p = malloc(sizeof(float) * BQ * bk);
  float *dp = malloc(sizeof(float) * BQ * bk);
  float *pd = malloc(sizeof(float) * BQ * bk);
  float *dd = malloc(sizeof(float) * (size_t)a->tq);
  for (int64_t bh = begin; bh < end; bh++) {
    int64_t b = bh / a->heads, h = bh % a->heads;
    const int64_t prefix = mask_prefix(a, b);
    const float *lse = a->lse + (b * a->heads + h) * a->tq;
    // D_r = dO_r · O_r, and zeroed gradient rows.
    for (int64_t r = 0; r < a->tq; r++) {
      const float *o = at(a->o, b, h, r), *g = at(c->dout, b, h, r);
      dd[r] = (float)kt->dot(o, g, a->dv);
      memset(at(c->dq, b, h, r), 0, sizeof(float) * a->d);
    }
    for (int64_t t = 0; t < a->tk; t++) {
      memset(at(c->dk, b, h, t), 0, sizeof(float) * a->d);
      memset(at(c->dv, b, h, t), 0, sizeof(float) * a->dv);
    }
    for (int64_t c0 = 0; c0 < a->tk; c0 += bk) {
      int64_t block_cols = a->tk - c0 < bk ? a->tk - c0 : bk;
      // First query row that can see key c0.
      int64_t rstart = a->causal ? c0 - (a->tk - a->tq) : 0;
      if (rstart < 0) rstart = 0;
      rstart = rstart / BQ * BQ;
      for (int64_t r0 = rstart; r0 < a->tq; r0 += BQ) {
        int64_t rows = a->tq - r0 < BQ ? a->tq - r0 : BQ;
        // Keys of this block that the block's last query row can see (causal).
        int64_t cols = key_limit(a, r0 + rows - 1) + 1 - c0;
        cols = cols < block_cols ? cols : block_cols;
        if (prefix >= 0 && c0 + cols > prefix) cols = prefix - c0;  // padded keys: P = 0, dK = dV = 0
        if (cols <= 0) continue;  // more queries than keys: these rows see nothing yet
        loom_sgemm_serial(0, 1, rows, cols, a->d, 1.0f,
                          at(a->q, b, h, r0), a->q.stride_t, at(a->k, b, h, c0), a->k.stride_t, 0.0f, p, bk);
        for (int64_t i = 0; i < rows; i++) {
          float *row = p + i * bk;
          scores_row(kt, a, b, row, r0 + i, c0, cols, prefix);
          kt->exp_store_sum(row, lse[r0 + i], row, cols);  // exp(-inf) = 0 for masked keys
        }
        float *pv = p;
        if (a->dropout_p > 0) {
          // dV uses the dropped probabilities; dP is masked the same way.
          memcpy(pd, p, sizeof(float) * BQ * bk);
          apply_dropout(a, b, h, pd, bk, r0, rows, c0, cols);
          pv = pd;
        }
        // dV_j += Pᵀ dO_i
        loom_sgemm_serial(1, 0, cols, a->dv, rows, 1.0f, pv, bk,
                          at(c->dout, b, h, r0), c->dout.stride_t, 1.0f, at(c->dv, b, h, c0), c->dv.stride_t);
        // dP = dO_i V_jᵀ
        loom_sgemm_serial(0, 1, rows, cols, a->dv, 1.0f,
                          at(c->dout, b, h, r0), c->dout.stride_t, at(a->v, b, h, c0), a->v.stride_t, 0.0f, dp, bk);
        if (a->dropout_p > 0) apply_dropout(a, b, h, dp, bk, r0, rows, c0, cols);
        // dS = P ∘ (dP − D) · scale  (stored in dp)
        for (int64_t i = 0; i < rows; i++) kt->attn_ds(p + i * bk, dp + i * bk, dd[r0 + i], a->scale, cols);
        // dQ_i += dS K_j ; dK_j += dSᵀ Q_i
        loom_sgemm_serial(0, 0, rows, a->d, cols, 1.0f, dp, bk,
                          at(a->k, b, h, c0), a->k.stride_t, 1.0f, at(c->dq, b, h, r0), c->dq.stride_t);
        loom_sgemm_serial(1, 0, cols, a->d, rows, 1.0f, dp, bk,
                          at(a->q, b, h, r0), a->q.stride_t, 1.0f, at(c->dk, b, h, c0), c->dk.stride_t);
      }
    }
  }
  free(p);
  free(dp);
  free(pd);
  free(dd);
}

void loom_attention_backward_f32(const loom_attn_args *args, loom_attn_view dout, loom_attn_view dq,
                                 loom_attn_view dk, loom_attn_view dv) {
  loom_blas_serial();
  bwd_ctx ctx = {args, dout, dq, dk, dv};
  loom_parallel_for(args->batch * args->heads, 1, backward_range, &ctx);
}
