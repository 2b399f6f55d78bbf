// Loom's float32 CPU kernels. Every function works on contiguous row-major buffers,
// picks an AVX-512 / AVX2+FMA / scalar variant at run time (CPU features are probed
// once), and splits large work over Loom's thread pool (sized to the cores,
// LOOM_NUM_THREADS overrides). Swift calls these; float64 and strided cases are
// handled by generic Swift code.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- runtime facts ---------------------------------------------------------
/// 512 when AVX-512F is used, 256 for AVX2+FMA, 0 for the portable scalar path.
int loom_simd_width_bits(void);
/// Caps the SIMD level (512, 256 or 0) for testing; picks the best supported level
/// not above `bits` and returns its width. Not thread-safe with running kernels.
/// (The environment variable LOOM_SIMD=scalar|avx2|avx512 caps it at startup.)
int loom_set_simd_width_bits(int bits);
/// Number of threads the pool uses (>= 1).
int loom_num_threads(void);
/// Changes the pool size (1 = run inline). Call before heavy work, not concurrently.
void loom_set_num_threads(int n);

/// Runs fn(ctx, begin, end) over [0, n) split into chunks of at least `grain`
/// items, on the pool; runs inline when n <= grain or the pool has one thread.
typedef void (*loom_range_fn)(void *ctx, int64_t begin, int64_t end);
void loom_parallel_for(int64_t n, int64_t grain, loom_range_fn fn, void *ctx);

// ---- elementwise, same length n --------------------------------------------
void loom_add_f32(const float *a, const float *b, float *out, int64_t n);
void loom_sub_f32(const float *a, const float *b, float *out, int64_t n);
void loom_mul_f32(const float *a, const float *b, float *out, int64_t n);
void loom_div_f32(const float *a, const float *b, float *out, int64_t n);
/// out = a * alpha + beta (scalar affine)
void loom_affine_f32(const float *a, float alpha, float beta, float *out, int64_t n);
/// y += alpha * x
void loom_axpy_f32(float alpha, const float *x, float *y, int64_t n);
void loom_fill_f32(float *out, float value, int64_t n);

/// a is [rows, cols], b is [cols] broadcast over rows. op: 0 add, 1 sub, 2 mul, 3 div.
void loom_rowwise_f32(int op, const float *a, const float *b, float *out, int64_t rows, int64_t cols);
/// a is [rows, cols], b is [rows] broadcast over columns. op as above.
void loom_colwise_f32(int op, const float *a, const float *b, float *out, int64_t rows, int64_t cols);

// ---- unary (n elements) ----------------------------------------------------
enum loom_unary_op {
  LOOM_EXP = 0, LOOM_LOG, LOOM_SQRT, LOOM_RSQRT, LOOM_TANH, LOOM_SIGMOID, LOOM_RELU,
  LOOM_GELU_ERF, LOOM_GELU_TANH, LOOM_SILU, LOOM_NEG, LOOM_ABS, LOOM_SQUARE, LOOM_RECIPROCAL,
  LOOM_SIN, LOOM_COS
};
void loom_unary_f32(int op, const float *x, float *y, int64_t n);
/// out = x ^ p
void loom_pow_scalar_f32(const float *x, float p, float *out, int64_t n);
/// leaky relu with slope
void loom_leaky_relu_f32(const float *x, float slope, float *y, int64_t n);

/// Backward of an activation given its input x (and upstream gy): gx = gy * f'(x).
/// Supported ops: TANH, SIGMOID, RELU, GELU_ERF, GELU_TANH, SILU, EXP, LOG, SQRT.
void loom_unary_backward_f32(int op, const float *x, const float *gy, float *gx, int64_t n);

/// Row-major C = alpha·op(A)·op(B) + beta·C on Loom's thread pool: large products split
/// into row (or column) blocks, one single-threaded BLAS call per block.
void loom_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
/// Row-major y = alpha·op(A)·x + beta·y (A rows×cols) on Loom's pool, split over y.
void loom_sgemv(int trans, int64_t rows, int64_t cols, float alpha, const float *a, int64_t lda, const float *x,
                int64_t incx, float beta, float *y);
enum { LOOM_RAND_UNIFORM = 0, LOOM_RAND_BERNOULLI = 1 };
/// Philox-4x32-10 float32 fills on Loom's pool, equal bit for bit to LoomCore's `Philox`:
/// element i comes from word i % 4 of the block at counter offset + i / 4. Uniform:
/// lo + span · u with u = (w >> 8) · 2⁻²⁴; Bernoulli: 1 where w · 2⁻³² < p, else 0.
void loom_rand_f32(int kind, uint64_t seed, uint64_t offset, float lo, float span, double p, float *out, int64_t n);

/// Whether `loom_gemm_bf16` has a native kernel on this CPU (oneDNN with AVX512-BF16 or AMX;
/// LOOM_BF16_GEMM=0 turns it off).
int loom_has_bf16_gemm(void);
/// Row-major C = op(A)·op(B) + beta·C with bfloat16 A and B, float32 accumulation and C in
/// bfloat16 (`c_is_bf16`) or float32; beta 0 or 1. oneDNN's native kernel where the CPU has
/// one, else float32 copies and `loom_sgemm`. Returns 0 only when memory ran out.
int loom_gemm_bf16(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                   const uint16_t *b, int64_t ldb, float beta, void *c, int64_t ldc, int c_is_bf16);
/// The same for float16 operands (C float16 when `c_is_f16`): float32 copies of A and of B a
/// block at a time, `loom_sgemm`, one rounding.
int loom_gemm_f16(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                  const uint16_t *b, int64_t ldb, float beta, void *c, int64_t ldc, int c_is_f16);
/// Makes BLAS single-threaded (Loom's pool does the splitting); idempotent.
/// Blocks of `bytes` and more become their own mappings, returned to the system when freed (glibc's
/// fixed M_MMAP_THRESHOLD; no-op elsewhere).
void loom_fix_mmap_threshold(int64_t bytes);
void loom_blas_serial(void);
/// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", ...; "" when not OpenBLAS).
const char *loom_blas_core(void);
/// One single-threaded row-major GEMM C = alpha·op(A)·op(B) + beta·C on the calling
/// thread, by the engine measured fastest for its shape (oneDNN or OpenBLAS).
void loom_sgemm_serial(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
/// The GEMM engines in use: "onednn+openblas", "openblas" (LOOM_GEMM=openblas) or "accelerate".
const char *loom_gemm_engine(void);

/// dst[r, j] = src[r, index[j]] for dense src [rows, cols]; index −1 gives 0 (padding);
/// indices already validated.
void loom_take_cols_f32(const float *src, int64_t rows, int64_t cols, const int64_t *index, int64_t picked,
                        float *dst);
/// dst[r, index[j]] += src[r, j] for dense dst [rows, cols] (repeated indices accumulate;
/// index −1 is skipped).
void loom_add_cols_f32(float *dst, int64_t rows, int64_t cols, const int64_t *index, int64_t picked,
                       const float *src);

/// Elementwise binary cross-entropy of probabilities p against targets t (logs floored
/// at -100, as PyTorch), and its gradient for p: gy per element, or the scalar gs when
/// gy is NULL.
void loom_bce_f32(const float *p, const float *t, float *out, int64_t n);
void loom_bce_backward_f32(const float *p, const float *t, const float *gy, float gs, float *gx, int64_t n);

// ---- reductions -------------------------------------------------------------
/// sum of all n elements, accumulated in double for accuracy
double loom_sum_f32(const float *x, int64_t n);
/// x is [rows, cols]; out[r] = sum_c x[r, c]
void loom_sum_rows_f32(const float *x, float *out, int64_t rows, int64_t cols);
/// x is [rows, cols]; out[c] = sum_r x[r, c]   (bias gradients)
void loom_sum_cols_f32(const float *x, float *out, int64_t rows, int64_t cols);
/// x is [rows, cols]; max and argmax of each row (first index on ties)
void loom_max_rows_f32(const float *x, float *max_out, int64_t *argmax_out, int64_t rows, int64_t cols);

// ---- fused softmax family (rows of length cols) -----------------------------
void loom_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols);
void loom_log_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols);
/// gx = y * (gy - sum(gy * y))       (y = softmax output)
void loom_softmax_backward_f32(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols);
/// gx = gy - exp(y) * sum(gy)        (y = log_softmax output)
void loom_log_softmax_backward_f32(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols);

/// Cross-entropy over logits [rows, cols] with integer targets (PyTorch semantics:
/// rows whose target == ignore_index contribute 0; label_smoothing eps mixes in the
/// uniform distribution). Writes per-row loss to loss_out and the row's
/// log-sum-exp to lse_out (kept for backward). Returns the number of non-ignored rows.
int64_t loom_cross_entropy_f32(const float *logits, const int64_t *targets, int64_t ignore_index,
                               float label_smoothing, float *loss_out, float *lse_out,
                               int64_t rows, int64_t cols);
/// dlogits[r, :] = grow[r] * (softmax(logits[r]) - (1-eps)*onehot(t) - eps/cols); 0 for ignored rows.
void loom_cross_entropy_backward_f32(const float *logits, const int64_t *targets, int64_t ignore_index,
                                     float label_smoothing, const float *lse, const float *grow,
                                     float *dlogits, int64_t rows, int64_t cols);

// ---- normalisation (rows of length cols) ------------------------------------
/// y = (x - mean) * rstd * w + b; w and b may be NULL (no affine). mean/rstd: [rows].
void loom_layer_norm_f32(const float *x, const float *w, const float *b, float eps, float *y,
                         float *mean, float *rstd, int64_t rows, int64_t cols);
/// gx (may not be NULL); gw, gb may be NULL; when not NULL they are ACCUMULATED into
/// (caller zeroes them).
void loom_layer_norm_backward_f32(const float *gy, const float *x, const float *w, const float *mean,
                                  const float *rstd, float *gx, float *gw, float *gb,
                                  int64_t rows, int64_t cols);
/// y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps); w may be NULL.
void loom_rms_norm_f32(const float *x, const float *w, float eps, float *y, float *rstd,
                       int64_t rows, int64_t cols);
void loom_rms_norm_backward_f32(const float *gy, const float *x, const float *w, const float *rstd,
                                float *gx, float *gw, int64_t rows, int64_t cols);

// ---- optimizers (in place over n parameters) --------------------------------
/// PyTorch AdamW: p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
/// p -= lr * (m / bc1) / (sqrt(v / bc2) + eps), with bc1 = 1-b1^step, bc2 = 1-b2^step.
void loom_adamw_step_f32(float *p, const float *g, float *m, float *v, int64_t n, float lr,
                         float beta1, float beta2, float eps, float weight_decay, int64_t step);
/// bitsandbytes' 8-bit blockwise AdamW (optimizer_update_8bit_blockwise, "adam"): per block of
/// `blocksize` elements, m and v are dequantized (code[q] * absmax), updated as `k_adam8_block`,
/// and requantized: absmax = max|x|, q = the code entry nearest x / absmax (binary search, ties
/// to the lower entry). code_m / code_v are 256 ascending entries (signed / unsigned dynamic maps).
void loom_adam8bit_step_f32(float *p, const float *g, uint8_t *qm, uint8_t *qv, float *absmax_m,
                            float *absmax_v, const float *code_m, const float *code_v, int64_t n,
                            int64_t blocksize, float lr, float beta1, float beta2, float eps,
                            float weight_decay, int64_t step);
/// Blockwise 8-bit quantization with a 256-entry code (bnb's quantize_blockwise on CPU).
void loom_quantize_blockwise_f32(const float *x, const float *code, uint8_t *q, float *absmax, int64_t n,
                                 int64_t blocksize);
/// out[i] = code[q[i]] * absmax[i / blocksize].
void loom_dequantize_blockwise_f32(const uint8_t *q, const float *code, const float *absmax, float *out,
                                   int64_t n, int64_t blocksize);
/// PyTorch Adam with L2 weight decay (g += wd * p), same update otherwise.
void loom_adam_step_f32(float *p, const float *g, float *m, float *v, int64_t n, float lr,
                        float beta1, float beta2, float eps, float weight_decay, int64_t step);
/// PyTorch SGD: g += wd*p; if momentum: buf = momentum*buf + (1-dampening)*g (buf = g on
/// first step when first_step != 0); g = nesterov ? g + momentum*buf : buf; p -= lr*g.
/// buf may be NULL when momentum == 0.
void loom_sgd_step_f32(float *p, const float *g, float *buf, int64_t n, float lr, float momentum,
                       float dampening, float weight_decay, int nesterov, int first_step);

// ---- copies -----------------------------------------------------------------
/// Gathers a strided view (ndim <= 8, element strides, may be 0 for broadcast) into a
/// contiguous buffer.
void loom_strided_copy_f32(const float *src, const int64_t *shape, const int64_t *strides, int ndim,
                           float *dst);
/// Copies a strided view into strided memory: dst[idx · dst_strides] = src[idx · src_strides] for
/// every index of `shape` (ndim ≤ 8); parallel over the outer rows.
void loom_strided_copy2_f32(const float *src, const int64_t *shape, const int64_t *src_strides, int ndim, float *dst,
                            const int64_t *dst_strides);
void loom_f32_to_f64(const float *src, double *dst, int64_t n);
void loom_f64_to_f32(const double *src, float *dst, int64_t n);
/// bfloat16 / float16 storage conversions (round to nearest even)
void loom_f32_to_bf16(const float *src, uint16_t *dst, int64_t n);
void loom_bf16_to_f32(const uint16_t *src, float *dst, int64_t n);
void loom_f32_to_f16(const float *src, uint16_t *dst, int64_t n);
void loom_f16_to_f32(const uint16_t *src, float *dst, int64_t n);

#ifdef __cplusplus
}
#endif
