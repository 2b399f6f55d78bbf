// Kernel bodies, compiled once per instruction set by isa_*.c, which define
//   TABLE_NAME            the loom_isa_table to emit
//   vexp/vlog/vtanh/verf/vsin/vcos(const float *x, float *y, int64_t n)   vector math
// and wrap this file in a `#pragma clang attribute` that sets the target ISA, so the
// plain loops below are auto-vectorised at that width. Reductions allow reassociation
// (several partial sums) for the same reason.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "isa.h"

#define CHUNK 512
static const float kSqrt1_2 = 0.70710678118654752f;
static const float kInvSqrt2Pi = 0.39894228040143268f;
static const float kGeluK = 0.79788456080286536f;  // sqrt(2/pi)
static const float kGeluC = 0.044715f;

static void k_binary(int op, const float *restrict a, const float *restrict b, float *restrict out, int64_t n) {
  switch (op) {
  case 0: for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i]; break;
  case 1: for (int64_t i = 0; i < n; i++) out[i] = a[i] - b[i]; break;
  case 2: for (int64_t i = 0; i < n; i++) out[i] = a[i] * b[i]; break;
  default: for (int64_t i = 0; i < n; i++) out[i] = a[i] / b[i]; break;
  }
}

static void k_affine(const float *restrict a, float alpha, float beta, float *restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = a[i] * alpha + beta;
}

static void k_axpy(float alpha, const float *restrict x, float *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

static void k_rowwise(int op, const float *restrict a, const float *restrict b, float *restrict out, int64_t rows,
                      int64_t cols) {
  for (int64_t r = 0; r < rows; r++) k_binary(op, a + r * cols, b, out + r * cols, cols);
}

static void k_colwise(int op, const float *restrict a, const float *restrict b, float *restrict out, int64_t rows,
                      int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *ar = a + r * cols;
    float *o = out + r * cols;
    float s = b[r];
    switch (op) {
    case 0: for (int64_t i = 0; i < cols; i++) o[i] = ar[i] + s; break;
    case 1: for (int64_t i = 0; i < cols; i++) o[i] = ar[i] - s; break;
    case 2: for (int64_t i = 0; i < cols; i++) o[i] = ar[i] * s; break;
    default: for (int64_t i = 0; i < cols; i++) o[i] = ar[i] / s; break;
    }
  }
}

/// One chunk (n <= CHUNK) of a unary op; `t` is scratch of CHUNK floats.
static void unary_chunk(int op, const float *restrict x, float *restrict y, int64_t n, float *restrict t) {
  switch (op) {
  case 0: vexp(x, y, n); break;
  case 1: vlog(x, y, n); break;
  case 2: for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
  case 3: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / sqrtf(x[i]); break;
  case 4: vtanh(x, y, n); break;
  case 5:
    for (int64_t i = 0; i < n; i++) t[i] = -x[i];
    vexp(t, t, n);
    for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + t[i]);
    break;
  case 6: for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f; break;
  case 7:
    for (int64_t i = 0; i < n; i++) t[i] = x[i] * kSqrt1_2;
    verf(t, t, n);
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + t[i]);
    break;
  case 8:
    for (int64_t i = 0; i < n; i++) t[i] = kGeluK * (x[i] + kGeluC * x[i] * x[i] * x[i]);
    vtanh(t, t, n);
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + t[i]);
    break;
  case 9:
    for (int64_t i = 0; i < n; i++) t[i] = -x[i];
    vexp(t, t, n);
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + t[i]);
    break;
  case 10: for (int64_t i = 0; i < n; i++) y[i] = -x[i]; break;
  case 11: for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
  case 12: for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i]; break;
  case 13: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / x[i]; break;
  case 14: vsin(x, y, n); break;
  case 15: vcos(x, y, n); break;
  default: break;
  }
}

static void k_unary(int op, const float *x, float *y, int64_t n) {
  float t[CHUNK];
  for (int64_t i = 0; i < n; i += CHUNK) {
    int64_t m = n - i < CHUNK ? n - i : CHUNK;
    unary_chunk(op, x + i, y + i, m, t);
  }
}

static void backward_chunk(int op, const float *restrict x, const float *restrict gy, float *restrict gx, int64_t n,
                           float *restrict t, float *restrict u) {
  switch (op) {
  case 0:  // exp
    vexp(x, t, n);
    for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * t[i];
    break;
  case 1: for (int64_t i = 0; i < n; i++) gx[i] = gy[i] / x[i]; break;
  case 2: for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * 0.5f / sqrtf(x[i]); break;
  case 4:  // tanh
    vtanh(x, t, n);
    for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * (1.0f - t[i] * t[i]);
    break;
  case 5:  // sigmoid
    for (int64_t i = 0; i < n; i++) t[i] = -x[i];
    vexp(t, t, n);
    for (int64_t i = 0; i < n; i++) {
      float s = 1.0f / (1.0f + t[i]);
      gx[i] = gy[i] * s * (1.0f - s);
    }
    break;
  case 6: for (int64_t i = 0; i < n; i++) gx[i] = x[i] > 0 ? gy[i] : 0.0f; break;
  case 7:  // gelu (erf): Φ(x) + x φ(x)
    for (int64_t i = 0; i < n; i++) {
      t[i] = x[i] * kSqrt1_2;
      u[i] = -0.5f * x[i] * x[i];
    }
    verf(t, t, n);
    vexp(u, u, n);
    for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * (0.5f * (1.0f + t[i]) + x[i] * kInvSqrt2Pi * u[i]);
    break;
  case 8:  // gelu (tanh)
    for (int64_t i = 0; i < n; i++) t[i] = kGeluK * (x[i] + kGeluC * x[i] * x[i] * x[i]);
    vtanh(t, t, n);
    for (int64_t i = 0; i < n; i++) {
      float th = t[i], xi = x[i];
      float du = kGeluK * (1.0f + 3.0f * kGeluC * xi * xi);
      gx[i] = gy[i] * (0.5f * (1.0f + th) + 0.5f * xi * (1.0f - th * th) * du);
    }
    break;
  case 9:  // silu
    for (int64_t i = 0; i < n; i++) t[i] = -x[i];
    vexp(t, t, n);
    for (int64_t i = 0; i < n; i++) {
      float s = 1.0f / (1.0f + t[i]);
      gx[i] = gy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
    break;
  case 10: for (int64_t i = 0; i < n; i++) gx[i] = -gy[i]; break;
  case 11: for (int64_t i = 0; i < n; i++) gx[i] = x[i] > 0 ? gy[i] : (x[i] < 0 ? -gy[i] : 0.0f); break;
  case 12: for (int64_t i = 0; i < n; i++) gx[i] = 2.0f * x[i] * gy[i]; break;
  case 13: for (int64_t i = 0; i < n; i++) gx[i] = -gy[i] / (x[i] * x[i]); break;
  default: for (int64_t i = 0; i < n; i++) gx[i] = NAN; break;
  }
}

static void k_unary_backward(int op, const float *x, const float *gy, float *gx, int64_t n) {
  float t[CHUNK], u[CHUNK];
  for (int64_t i = 0; i < n; i += CHUNK) {
    int64_t m = n - i < CHUNK ? n - i : CHUNK;
    backward_chunk(op, x + i, gy + i, gx + i, m, t, u);
  }
}

static float sum_f(const float *restrict x, int64_t n) {
#pragma clang fp reassociate(on)
  float s = 0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  return s;
}

static float dot_f(const float *restrict x, const float *restrict y, int64_t n) {
#pragma clang fp reassociate(on)
  float s = 0;
  for (int64_t i = 0; i < n; i++) s += x[i] * y[i];
  return s;
}

static float max_f(const float *restrict x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

static double k_sum(const float *x, int64_t n) {
  // Float partial sums over blocks, combined in double: fast and accurate.
  double total = 0;
  for (int64_t i = 0; i < n; i += 4096) {
    int64_t m = n - i < 4096 ? n - i : 4096;
    total += sum_f(x + i, m);
  }
  return total;
}

static void k_sum_cols(const float *restrict x, float *restrict out, int64_t rows, int64_t cols) {
  memset(out, 0, sizeof(float) * cols);
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    for (int64_t c = 0; c < cols; c++) out[c] += xr[c];
  }
}

static void k_max_rows(const float *x, float *max_out, int64_t *argmax_out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float m = max_f(xr, cols);
    int64_t at = 0;
    int found = 0;
    for (int64_t c = 0; c < cols; c++) {
      if (xr[c] != xr[c]) { m = xr[c]; at = c; found = 1; break; }  // NaN propagates
    }
    if (!found) {
      for (int64_t c = 0; c < cols; c++) if (xr[c] == m) { at = c; break; }
    }
    max_out[r] = m;
    argmax_out[r] = at;
  }
}

/// exp(x - shift) into y, returning the sum.
static float exp_shifted(const float *restrict x, float shift, float *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] - shift;
  vexp(y, y, n);
  return sum_f(y, n);
}

static void k_softmax(const float *x, float *y, int64_t rows, int64_t cols, int log) {
  float scratch[CHUNK];
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    float m = max_f(xr, cols);
    if (!log) {
      float s = exp_shifted(xr, m, yr, cols);
      float inv = 1.0f / s;
      for (int64_t c = 0; c < cols; c++) yr[c] *= inv;
    } else {
      double s = 0;
      for (int64_t c = 0; c < cols; c += CHUNK) {
        int64_t n = cols - c < CHUNK ? cols - c : CHUNK;
        s += exp_shifted(xr + c, m, scratch, n);
      }
      float lse = m + logf((float)s);
      for (int64_t c = 0; c < cols; c++) yr[c] = xr[c] - lse;
    }
  }
}

static void k_softmax_backward(const float *y, const float *gy, float *gx, int64_t rows, int64_t cols, int log) {
  float scratch[CHUNK];
  for (int64_t r = 0; r < rows; r++) {
    const float *yr = y + r * cols, *gr = gy + r * cols;
    float *o = gx + r * cols;
    if (!log) {
      float d = dot_f(yr, gr, cols);
      for (int64_t c = 0; c < cols; c++) o[c] = yr[c] * (gr[c] - d);
    } else {
      float s = sum_f(gr, cols);
      for (int64_t c = 0; c < cols; c += CHUNK) {
        int64_t n = cols - c < CHUNK ? cols - c : CHUNK;
        vexp(yr + c, scratch, n);
        for (int64_t i = 0; i < n; i++) o[c + i] = gr[c + i] - scratch[i] * s;
      }
    }
  }
}

static float row_lse(const float *xr, int64_t cols) {
  float scratch[CHUNK];
  float m = max_f(xr, cols);
  double s = 0;
  for (int64_t c = 0; c < cols; c += CHUNK) {
    int64_t n = cols - c < CHUNK ? cols - c : CHUNK;
    s += exp_shifted(xr + c, m, scratch, n);
  }
  return m + logf((float)s);
}

static void k_cross_entropy(const float *logits, const int64_t *targets, int64_t ignore, float eps, float *loss,
                            float *lse, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    if (targets[r] == ignore) {
      loss[r] = 0;
      lse[r] = 0;
      continue;
    }
    const float *xr = logits + r * cols;
    float l = row_lse(xr, cols);
    lse[r] = l;
    float nll = l - xr[targets[r]];
    if (eps > 0) {
      float mean = sum_f(xr, cols) / (float)cols;
      loss[r] = (1.0f - eps) * nll + eps * (l - mean);
    } else {
      loss[r] = nll;
    }
  }
}

static void k_cross_entropy_backward(const float *logits, const int64_t *targets, int64_t ignore, float eps,
                                     const float *lse, const float *grow, float *dx, int64_t rows, int64_t cols) {
  float uniform = eps / (float)cols;
  for (int64_t r = 0; r < rows; r++) {
    float *o = dx + r * cols;
    if (targets[r] == ignore) {
      memset(o, 0, sizeof(float) * cols);
      continue;
    }
    const float *xr = logits + r * cols;
    float g = grow[r];
    for (int64_t c = 0; c < cols; c++) o[c] = xr[c] - lse[r];
    vexp(o, o, cols);
    for (int64_t c = 0; c < cols; c++) o[c] = g * (o[c] - uniform);
    o[targets[r]] -= g * (1.0f - eps);
  }
}

static void k_layer_norm(const float *x, const float *w, const float *b, float eps, float *y, float *mean,
                         float *rstd, int64_t rows, int64_t cols, int rms) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    float mu = rms ? 0.0f : sum_f(xr, cols) / (float)cols;
    float var;
    {
#pragma clang fp reassociate(on)
      float acc = 0;
      for (int64_t c = 0; c < cols; c++) {
        float d = xr[c] - mu;
        acc += d * d;
      }
      var = acc / (float)cols;
    }
    float rs = 1.0f / sqrtf(var + eps);
    if (mean) mean[r] = mu;
    rstd[r] = rs;
    if (w && b) {
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rs * w[c] + b[c];
    } else if (w) {
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rs * w[c];
    } else if (b) {
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rs + b[c];
    } else {
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rs;
    }
  }
}

static void k_layer_norm_backward(const float *gy, const float *x, const float *w, const float *mean,
                                  const float *rstd, float *gx, float *gw, float *gb, int64_t rows, int64_t cols,
                                  int rms) {
  float xh[CHUNK], dxh[CHUNK];
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols, *gr = gy + r * cols;
    float *o = gx + r * cols;
    float mu = rms ? 0.0f : mean[r], rs = rstd[r];
    // Pass 1: sums of dxhat and dxhat·xhat (and the parameter gradients).
    float s1 = 0, s2 = 0;
    for (int64_t c0 = 0; c0 < cols; c0 += CHUNK) {
      int64_t n = cols - c0 < CHUNK ? cols - c0 : CHUNK;
      for (int64_t i = 0; i < n; i++) {
        xh[i] = (xr[c0 + i] - mu) * rs;
        dxh[i] = w ? gr[c0 + i] * w[c0 + i] : gr[c0 + i];
      }
      s1 += sum_f(dxh, n);
      s2 += dot_f(dxh, xh, n);
      if (gw) for (int64_t i = 0; i < n; i++) gw[c0 + i] += gr[c0 + i] * xh[i];
      if (gb) for (int64_t i = 0; i < n; i++) gb[c0 + i] += gr[c0 + i];
    }
    float m1 = rms ? 0.0f : s1 / (float)cols, m2 = s2 / (float)cols;
    for (int64_t c = 0; c < cols; c++) {
      float xhat = (xr[c] - mu) * rs;
      float d = w ? gr[c] * w[c] : gr[c];
      o[c] = rs * (d - m1 - xhat * m2);
    }
  }
}

static void k_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                   float lr, float b1, float b2, float eps, float wd, float bc1, float bc2sqrt, int decoupled) {
  float step = lr / bc1;
  if (decoupled) {
    float decay = 1.0f - lr * wd;
    for (int64_t i = 0; i < n; i++) {
      float gi = g[i];
      float pi = p[i] * decay;
      float mi = b1 * m[i] + (1.0f - b1) * gi;
      float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - step * mi / (sqrtf(vi) / bc2sqrt + eps);
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      float gi = g[i] + wd * p[i];
      float mi = b1 * m[i] + (1.0f - b1) * gi;
      float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] - step * mi / (sqrtf(vi) / bc2sqrt + eps);
    }
  }
}

const loom_isa_table TABLE_NAME = {
    k_binary, k_affine, k_axpy, k_rowwise, k_colwise, k_unary, k_unary_backward, k_sum, k_sum_cols,
    k_max_rows, k_softmax, k_softmax_backward, k_cross_entropy, k_cross_entropy_backward, k_layer_norm,
    k_layer_norm_backward, k_adam,
};
