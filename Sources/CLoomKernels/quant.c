// bitsandbytes' quantizers (one pass, not hot) and the threaded drivers of the per-ISA fused products.
#include <math.h>
#include <stdlib.h>
#include "kern_internal.h"
#include "loom_quant.h"

// get_4bit_type("nf4") and get_4bit_type("fp4") (already divided by 12), in code order.
static const float nf4_code[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f,
    1.0f};
static const float fp4_raw[16] = {0.0f, 0.0625f, 8.0f, 12.0f, 4.0f, 6.0f, 2.0f, 3.0f,
                                  -0.0f, -0.0625f, -8.0f, -12.0f, -4.0f, -6.0f, -2.0f, -3.0f};
// torch.argsort(fp4 code) as bitsandbytes' default kernel sees it: +0 (code 0) sorts before -0 (code 8).
static const uint8_t fp4_order[16] = {11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3};

static const float dynamic_map[256] = {
    -0.992968738f, -0.978906274f, -0.96484375f, -0.950781226f, -0.936718762f, -0.922656238f, -0.908593774f, -0.89453125f,
    -0.880468726f, -0.866406262f, -0.852343738f, -0.838281274f, -0.82421875f, -0.810156226f, -0.796093762f, -0.782031238f,
    -0.767968774f, -0.75390625f, -0.739843726f, -0.725781262f, -0.711718798f, -0.697656274f, -0.68359375f, -0.669531226f,
    -0.655468762f, -0.641406298f, -0.627343774f, -0.61328125f, -0.599218726f, -0.585156262f, -0.571093798f, -0.557031274f,
    -0.54296875f, -0.528906226f, -0.514843702f, -0.500781238f, -0.486718714f, -0.47265625f, -0.458593726f, -0.444531262f,
    -0.430468738f, -0.416406244f, -0.40234375f, -0.388281226f, -0.374218762f, -0.360156238f, -0.346093744f, -0.33203125f,
    -0.317968726f, -0.303906262f, -0.289843738f, -0.275781274f, -0.26171875f, -0.247656241f, -0.233593747f, -0.219531253f,
    -0.205468744f, -0.19140625f, -0.177343756f, -0.163281247f, -0.149218753f, -0.135156244f, -0.12109375f, -0.107031256f,
    -0.0985937491f, -0.0957812592f, -0.0929687545f, -0.0901562497f, -0.0873437524f, -0.0845312476f, -0.0817187577f, -0.078906253f,
    -0.0760937482f, -0.0732812509f, -0.0704687461f, -0.0676562563f, -0.0648437515f, -0.0620312504f, -0.0592187531f, -0.0564062484f,
    -0.053593751f, -0.05078125f, -0.047968749f, -0.0451562516f, -0.0423437469f, -0.0395312496f, -0.0367187522f, -0.0339062512f,
    -0.0310937501f, -0.028281251f, -0.0254687499f, -0.0226562507f, -0.0198437516f, -0.0170312505f, -0.0142187504f, -0.0114062503f,
    -0.00971874967f, -0.00915624946f, -0.00859375019f, -0.00803124998f, -0.00746874977f, -0.00690625003f, -0.00634374982f, -0.00578125007f,
    -0.00521875033f, -0.00465624966f, -0.00409374991f, -0.00353124971f, -0.00296874996f, -0.00240624999f, -0.00184375001f, -0.00128124992f,
    -0.000943750085f, -0.000831249985f, -0.00071875006f, -0.000606250076f, -0.000493750034f, -0.000381250022f, -0.000268750038f, -0.000156250011f,
    -8.87499991e-05f, -6.62500024e-05f, -4.37499984e-05f, -2.12499981e-05f, -7.7499999e-06f, -3.25000019e-06f, -5.50000038e-07f, 0.0f,
    5.50000038e-07f, 3.25000019e-06f, 7.7499999e-06f, 2.12499981e-05f, 4.37499984e-05f, 6.62500024e-05f, 8.87499991e-05f, 0.000156250011f,
    0.000268750038f, 0.000381250022f, 0.000493750034f, 0.000606250076f, 0.00071875006f, 0.000831249985f, 0.000943750085f, 0.00128124992f,
    0.00184375001f, 0.00240624999f, 0.00296874996f, 0.00353124971f, 0.00409374991f, 0.00465624966f, 0.00521875033f, 0.00578125007f,
    0.00634374982f, 0.00690625003f, 0.00746874977f, 0.00803124998f, 0.00859375019f, 0.00915624946f, 0.00971874967f, 0.0114062503f,
    0.0142187504f, 0.0170312505f, 0.0198437516f, 0.0226562507f, 0.0254687499f, 0.028281251f, 0.0310937501f, 0.0339062512f,
    0.0367187522f, 0.0395312496f, 0.0423437469f, 0.0451562516f, 0.047968749f, 0.05078125f, 0.053593751f, 0.0564062484f,
    0.0592187531f, 0.0620312504f, 0.0648437515f, 0.0676562563f, 0.0704687461f, 0.0732812509f, 0.0760937482f, 0.078906253f,
    0.0817187577f, 0.0845312476f, 0.0873437524f, 0.0901562497f, 0.0929687545f, 0.0957812592f, 0.0985937491f, 0.107031256f,
    0.12109375f, 0.135156244f, 0.149218753f, 0.163281247f, 0.177343756f, 0.19140625f, 0.205468744f, 0.219531253f,
    0.233593747f, 0.247656241f, 0.26171875f, 0.275781274f, 0.289843738f, 0.303906262f, 0.317968726f, 0.33203125f,
    0.346093744f, 0.360156238f, 0.374218762f, 0.388281226f, 0.40234375f, 0.416406244f, 0.430468738f, 0.444531262f,
    0.458593726f, 0.47265625f, 0.486718714f, 0.500781238f, 0.514843702f, 0.528906226f, 0.54296875f, 0.557031274f,
    0.571093798f, 0.585156262f, 0.599218726f, 0.61328125f, 0.627343774f, 0.641406298f, 0.655468762f, 0.669531226f,
    0.68359375f, 0.697656274f, 0.711718798f, 0.725781262f, 0.739843726f, 0.75390625f, 0.767968774f, 0.782031238f,
    0.796093762f, 0.810156226f, 0.82421875f, 0.838281274f, 0.852343738f, 0.866406262f, 0.880468726f, 0.89453125f,
    0.908593774f, 0.922656238f, 0.936718762f, 0.950781226f, 0.96484375f, 0.978906274f, 0.992968738f, 1.0f,
};

static float fp4_code[16];
static int fp4_ready = 0;

const float *loom_q4_code(int quant_type) {
  if (quant_type == LOOM_Q4_NF4) return nf4_code;
  if (!fp4_ready) {  // idempotent: racing threads write the same values
    for (int i = 0; i < 16; i++) fp4_code[i] = fp4_raw[i] / 12.0f;
    fp4_ready = 1;
  }
  return fp4_code;
}

const float *loom_dynamic_map(void) { return dynamic_map; }

// torch.bucketize(x, bounds) (right=False): the number of bounds strictly below x.
static int bucket(float x, const float *bounds, int count) {
  int lo = 0, hi = count;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (bounds[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static float clamp1(float v) { return v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v); }

// Block absmax, then each value scaled as bitsandbytes' default kernel does (x·(1/absmax) in full blocks,
// x/absmax in the partial last one; absmax floored at 1e-38) and bucketized at the sorted code's midpoints.
static void quantize_blocks(const float *x, int64_t n, int64_t bs, const float *sorted, int levels,
                            const uint8_t *order, uint8_t *codes, float *absmax) {
  float bounds[255];
  for (int i = 0; i + 1 < levels; i++) bounds[i] = (sorted[i] + sorted[i + 1]) / 2.0f;
  for (int64_t b0 = 0, blk = 0; b0 < n; b0 += bs, blk++) {
    int64_t len = n - b0 < bs ? n - b0 : bs;
    float am = 0.0f;
    for (int64_t i = 0; i < len; i++) am = fmaxf(am, fabsf(x[b0 + i]));
    absmax[blk] = am;
    float floor_am = am > 1e-38f ? am : 1e-38f, inv = 1.0f / floor_am;
    for (int64_t i = 0; i < len; i++) {
      float v = len == bs ? x[b0 + i] * inv : x[b0 + i] / floor_am;
      int q = bucket(clamp1(v), bounds, levels - 1);
      codes[b0 + i] = order ? order[q] : (uint8_t)q;
    }
  }
}

typedef struct {
  const float *x, *bounds;
  const uint8_t *order;
  int64_t n, bs;
  uint8_t *packed;
  float *absmax;
} q4q_ctx;

// Blocks [b, e): quantize_blocks' arithmetic, two codes packed per byte. bucket() is counted without branches over
// 16 values at a time — the number of midpoints strictly below each value (a NaN counts none, as in the binary
// search) — which the compiler vectorizes; the binary search's mispredicted branches were most of a 4-bit load.
// Blocks start at even offsets (the block size is a multiple of 16), so no byte straddles two tasks.
static void q4_quantize_range(void *p, int64_t b, int64_t e) {
  const q4q_ctx *c = p;
  for (int64_t blk = b; blk < e; blk++) {
    int64_t b0 = blk * c->bs, len = c->n - b0 < c->bs ? c->n - b0 : c->bs;
    const float *x = c->x + b0;
    float am = 0.0f;
    for (int64_t i = 0; i < len; i++) am = fmaxf(am, fabsf(x[i]));
    c->absmax[blk] = am;
    float floor_am = am > 1e-38f ? am : 1e-38f, inv = 1.0f / floor_am;
    for (int64_t i0 = 0; i0 < len; i0 += 16) {
      int64_t count = len - i0 < 16 ? len - i0 : 16;
      float v[16] = {0};
      int32_t q[16] = {0};
      for (int64_t j = 0; j < count; j++) v[j] = clamp1(len == c->bs ? x[i0 + j] * inv : x[i0 + j] / floor_am);
      for (int t = 0; t < 15; t++)
        for (int j = 0; j < 16; j++) q[j] += c->bounds[t] < v[j];
      uint8_t code[16];
      for (int j = 0; j < 16; j++) code[j] = c->order ? c->order[q[j]] : (uint8_t)q[j];
      for (int64_t j = 0; j + 1 < count; j += 2) c->packed[(b0 + i0 + j) / 2] = (uint8_t)(code[j] << 4 | code[j + 1]);
    }
  }
}

void loom_q4_quantize(const float *x, int64_t n, int64_t bs, int quant_type, uint8_t *packed, float *absmax) {
  const float *code = loom_q4_code(quant_type);
  float sorted[16], bounds[15];
  for (int i = 0; i < 16; i++) sorted[i] = quant_type == LOOM_Q4_NF4 ? code[i] : code[fp4_order[i]];
  for (int i = 0; i < 15; i++) bounds[i] = (sorted[i] + sorted[i + 1]) / 2.0f;
  q4q_ctx c = {.x = x, .bounds = bounds, .order = quant_type == LOOM_Q4_NF4 ? NULL : fp4_order, .n = n, .bs = bs,
               .packed = packed, .absmax = absmax};
  int64_t blocks = (n + bs - 1) / bs, grain = 65536 / bs;
  loom_parallel_for(blocks, grain < 1 ? 1 : grain, q4_quantize_range, &c);
}

void loom_q4_dequantize(const uint8_t *packed, const float *absmax, int64_t n, int64_t bs, int quant_type,
                        float *out) {
  const float *code = loom_q4_code(quant_type);
  for (int64_t i = 0; i < n; i++) {
    uint8_t byte = packed[i / 2];
    out[i] = code[(i & 1) ? byte & 15 : byte >> 4] * absmax[i / bs];
  }
}

// bitsandbytes' `quantize_blockwise` (used for NF4's double quantization of absmax). Its 8-bit optimizers
// quantize their state with a different rounding (x / absmax, nearest code, ties left; an all-zero block kept
// at zero): that is `loom_quantize_blockwise_f32` in optim8bit.c. Both are pinned bit for bit to their bnb
// path by fixtures, so the two quantizers stay separate; dequantization is the same and shared.
void loom_q8_blockwise_quantize(const float *x, int64_t n, int64_t bs, uint8_t *codes, float *absmax) {
  quantize_blocks(x, n, bs, dynamic_map, 256, NULL, codes, absmax);
}

void loom_q8_blockwise_dequantize(const uint8_t *codes, const float *absmax, int64_t n, int64_t bs, float *out) {
  loom_dequantize_blockwise_f32(codes, dynamic_map, absmax, out, n, bs);
}

void loom_int8_rows_quantize(const float *w, int64_t rows, int64_t cols, int8_t *codes, float *scb) {
  for (int64_t r = 0; r < rows; r++) {
    const float *wr = w + r * cols;
    float am = 0.0f;
    for (int64_t c = 0; c < cols; c++) am = fmaxf(am, fabsf(wr[c]));
    scb[r] = am;
    float s = 127.0f / am;
    for (int64_t c = 0; c < cols; c++) {
      float v = wr[c] * s;  // NaN for an all-zero row (0 · inf): such codes are 0
      codes[r * cols + c] = isnan(v) ? 0 : (int8_t)nearbyintf(v);
    }
  }
}

void loom_int8_rows_dequantize(const int8_t *codes, const float *scb, int64_t rows, int64_t cols, float *out) {
  const float c127 = 7.874015718698502e-3f;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) out[r * cols + c] = (float)codes[r * cols + c] * scb[r] * c127;
}

typedef struct {
  const loom_ktable *kt;
  const float *x, *absmax, *lut, *bias;
  const void *w;
  float *y;
  int64_t m, k, n, bs;
  // double-quantized absmax: dynamic_map[qabsmax[i]] · nested[i / nested_bs] + offset
  const uint8_t *qabsmax;
  const float *nested;
  float offset;
  int64_t nested_bs;
} qlin_ctx;

static void q4_range(void *p, int64_t b, int64_t e) {
  qlin_ctx *c = p;
  const int64_t blocks = c->k / c->bs;
  float *wrow = c->m > 1 ? malloc((size_t)c->k * sizeof(float)) : NULL;
  const float *am = c->absmax ? c->absmax + b * blocks : NULL;
  float *dq = NULL;
  if (c->qabsmax) {  // this range's absmax in float: a few values per row
    dq = malloc((size_t)((e - b) * blocks) * sizeof(float));
    for (int64_t i = b * blocks; i < e * blocks; i++)
      dq[i - b * blocks] = dynamic_map[c->qabsmax[i]] * c->nested[i / c->nested_bs] + c->offset;
    am = dq;
  }
  c->kt->q4_rows(c->x, c->m, c->k, (const uint8_t *)c->w + b * (c->k / 2), am, c->bs, c->lut,
                 c->bias ? c->bias + b : NULL, c->y + b, c->n, 0, e - b, wrow);
  free(dq);
  free(wrow);
}

static void q8_range(void *p, int64_t b, int64_t e) {
  qlin_ctx *c = p;
  float *wrow = c->m > 1 ? malloc((size_t)c->k * sizeof(float)) : NULL;
  c->kt->q8_rows(c->x, c->m, c->k, c->w, c->absmax, c->bias, c->y, c->n, b, e, wrow);
  free(wrow);
}

// Rows per task: enough weights (~64K) to amortise waking the pool.
static int64_t q_grain(int64_t k, int64_t m) {
  int64_t g = 65536 / (k * (m < 4 ? 1 : m / 4) + 1);
  return g < 1 ? 1 : g;
}

void loom_q4_linear(const float *x, int64_t m, int64_t k, const uint8_t *w, const float *absmax, int64_t n,
                    int64_t bs, int quant_type, const float *bias, float *y) {
  if (m <= 0 || n <= 0) return;
  qlin_ctx c = {.kt = KT(), .x = x, .absmax = absmax, .lut = loom_q4_code(quant_type), .bias = bias, .w = w,
                .y = y, .m = m, .k = k, .n = n, .bs = bs};
  loom_parallel_for(n, q_grain(k, m), q4_range, &c);
}

void loom_q4_linear_dq(const float *x, int64_t m, int64_t k, const uint8_t *w, const uint8_t *qabsmax,
                       const float *nested, int64_t nested_bs, float offset, int64_t n, int64_t bs, int quant_type,
                       const float *bias, float *y) {
  if (m <= 0 || n <= 0) return;
  qlin_ctx c = {.kt = KT(), .x = x, .lut = loom_q4_code(quant_type), .bias = bias, .w = w, .y = y, .m = m,
                .k = k, .n = n, .bs = bs, .qabsmax = qabsmax, .nested = nested, .offset = offset,
                .nested_bs = nested_bs};
  loom_parallel_for(n, q_grain(k, m), q4_range, &c);
}

void loom_int8_linear(const float *x, int64_t m, int64_t k, const int8_t *w, const float *scb, int64_t n,
                      const float *bias, float *y) {
  if (m <= 0 || n <= 0) return;
  float *scale = malloc((size_t)n * sizeof(float));
  if (!scale) return;
  for (int64_t i = 0; i < n; i++) scale[i] = scb[i] * 7.874015718698502e-3f;
  qlin_ctx c = {.kt = KT(), .x = x, .absmax = scale, .bias = bias, .w = w, .y = y, .m = m, .k = k, .n = n};
  loom_parallel_for(n, q_grain(k, m), q8_range, &c);
  free(scale);
}
