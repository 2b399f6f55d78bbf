// 2-D convolutions on oneDNN's primitives (forward, backward-data, backward-weights), float32,
// NCHW tensors in and out. A transposed convolution is the backward-data pass of the
// convolution it inverts, so these three cover both layers.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One convolution's geometry: x [n, c, h, w] → y [n, o, oh, ow], weights [o, c/groups, kh, kw],
/// stride (sh, sw), symmetric zero padding (ph, pw), dilation (dh, dw) with 1 meaning none
/// (PyTorch's convention). oh, ow are PyTorch's floor((h + 2ph − dh(kh−1) − 1)/sh) + 1.
typedef struct {
  int64_t n, c, h, w, o, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, groups;
} loom_conv_shape;

/// 1 when the oneDNN convolutions are in use (not on macOS, not with LOOM_CONV=im2col).
int loom_conv_available(void);

/// y = conv(x, w) (+ bias[o] when `bias` is not NULL). Returns 0 on success; nonzero when oneDNN
/// refused the shape (then nothing was written and the caller computes it another way).
int loom_conv2d_forward_f32(const loom_conv_shape *s, const float *x, const float *w, const float *bias,
                            float *y);
/// gx [n, c, h, w] = the gradient of conv for the input, from gy [n, o, oh, ow] and w.
int loom_conv2d_backward_data_f32(const loom_conv_shape *s, const float *gy, const float *w, float *gx);
/// gw [o, c/groups, kh, kw] (and gbias[o] = Σ gy when `gbias` is not NULL) from x and gy.
int loom_conv2d_backward_weights_f32(const loom_conv_shape *s, const float *x, const float *gy, float *gw,
                                     float *gbias);

#ifdef __cplusplus
}
#endif
