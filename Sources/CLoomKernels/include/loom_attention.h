// Fused scaled-dot-product attention (flash-style): forward and backward walk blocks of
// queries and keys with an online softmax, keeping only O and the per-row log-sum-exp,
// never a T×T matrix per head. Work is split over (batch, head) pairs on Loom's pool;
// block products go to CBLAS.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A [B, H, T, D] float32 view whose last dimension is dense.
typedef struct {
  float *data;
  int64_t stride_b, stride_h, stride_t;
} loom_attn_view;

typedef struct {
  int64_t batch, heads, tq, tk, d, dv;
  loom_attn_view q, k, v, o;
  /// [B, H, Tq] log-sum-exp of each query row (written by forward, read by backward).
  float *lse;
  float scale;
  /// Query row r sees keys c <= r + (tk - tq) (bottom-right aligned; = tril when tq == tk).
  int causal;
  /// Optional [B, Tk] key mask (1 = attend), row stride key_mask_stride_b; NULL for none.
  const uint8_t *key_mask;
  int64_t key_mask_stride_b;
  /// Dropout on the attention probabilities (0 = none). The keep mask is a hash of
  /// (seed, b, h, query, key), so backward regenerates it instead of storing it.
  float dropout_p;
  uint64_t seed;
} loom_attn_args;

/// The dropout multiplier (0 or 1/(1-p)) the kernels apply at one position; exposed
/// so tests can rebuild the same mask.
float loom_attention_dropout_scale(uint64_t seed, float p, int64_t b, int64_t h, int64_t heads, int64_t r,
                                   int64_t tq, int64_t c, int64_t tk);

void loom_attention_forward_f32(const loom_attn_args *args);

/// dout has o's shape; dq, dk, dv have q's, k's, v's shapes and are overwritten.
void loom_attention_backward_f32(const loom_attn_args *args, loom_attn_view dout, loom_attn_view dq,
                                 loom_attn_view dk, loom_attn_view dv);

#ifdef __cplusplus
}
#endif
