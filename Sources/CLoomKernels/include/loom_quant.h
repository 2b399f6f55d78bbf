// bitsandbytes' weight formats on the CPU: 4-bit NF4 / FP4 (block-wise absmax, two codes per byte, the
// first in the high nibble), 8-bit block-wise dynamic quantization (double quantization of the absmax),
// row-wise int8 (LLM.int8()'s vector-wise absmax, SCB), and fused dequantizing products.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum loom_q4_type { LOOM_Q4_FP4 = 0, LOOM_Q4_NF4 = 1 };

/// The 16-entry code book of a 4-bit type (bitsandbytes' get_4bit_type order).
const float *loom_q4_code(int quant_type);
/// The 256-entry signed dynamic map (bitsandbytes' create_dynamic_map()).
const float *loom_dynamic_map(void);

/// Packs n floats (n even) into n/2 bytes and writes ceil(n / bs) absmax values; each value goes to the
/// nearest code of x·(1/absmax) clamped to [-1, 1] (x/absmax in a partial last block), ties to the lower.
void loom_q4_quantize(const float *x, int64_t n, int64_t bs, int quant_type, uint8_t *packed, float *absmax);
void loom_q4_dequantize(const uint8_t *packed, const float *absmax, int64_t n, int64_t bs, int quant_type,
                        float *out);
/// Block-wise 8-bit quantization with the dynamic map (quantize_blockwise).
void loom_q8_blockwise_quantize(const float *x, int64_t n, int64_t bs, uint8_t *codes, float *absmax);
void loom_q8_blockwise_dequantize(const uint8_t *codes, const float *absmax, int64_t n, int64_t bs, float *out);
/// int8_vectorwise_quant with no outlier threshold: scb[r] = max |w[r, :]|, codes = round(w · 127/scb) (half
/// to even); an all-zero row gives zero codes.
void loom_int8_rows_quantize(const float *w, int64_t rows, int64_t cols, int8_t *codes, float *scb);
/// int8_vectorwise_dequant: codes · scb · (1/127 as bitsandbytes writes it).
void loom_int8_rows_dequantize(const int8_t *codes, const float *scb, int64_t rows, int64_t cols, float *out);

/// y[m, n] = x[m, k] · W[n, k]ᵀ (+ bias[n]) with W in 4-bit codes (row-major [n, k] packed, absmax per block of
/// bs; k and bs multiples of 16, bs divides k). Threads over n; row buffers only when m > 1.
void loom_q4_linear(const float *x, int64_t m, int64_t k, const uint8_t *w, const float *absmax, int64_t n,
                    int64_t bs, int quant_type, const float *bias, float *y);
/// The same with double-quantized absmax: absmax[i] = dynamic_map[qabsmax[i]] · nested[i / nested_bs] + offset
/// (bitsandbytes' compress_statistics), decoded per row range, never stored whole.
void loom_q4_linear_dq(const float *x, int64_t m, int64_t k, const uint8_t *w, const uint8_t *qabsmax,
                       const float *nested, int64_t nested_bs, float offset, int64_t n, int64_t bs, int quant_type,
                       const float *bias, float *y);
/// The same with int8 codes [n, k] and per-row SCB (k a multiple of 16).
void loom_int8_linear(const float *x, int64_t m, int64_t k, const int8_t *w, const float *scb, int64_t n,
                      const float *bias, float *y);

#ifdef __cplusplus
}
#endif
