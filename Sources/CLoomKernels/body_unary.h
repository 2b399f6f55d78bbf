// Unary activations and their backward passes (one body per ISA).
#define K_SQRT1_2 0.70710678118654752440f
#define K_SQRT_2_OVER_PI 0.79788456080286535588f
#define K_INV_SQRT_2PI 0.39894228040143267794f
#define K_GELU_C 0.044715f

#define UN_LOOP(EXPR)                                               \
  for (int64_t i = 0; i < n; i += VW) {                            \
    int64_t r = n - i;                                             \
    vf v = ldn(x + i, r);                                          \
    stn(y + i, EXPR, r);                                           \
  }

static inline vf k_sigmoid(vf v) { return vset(1.0f) / (vset(1.0f) + vexp(-v)); }
static inline vf k_gelu_inner(vf v) {  // sqrt(2/pi) * (x + 0.044715 x^3)
  return vset(K_SQRT_2_OVER_PI) * vfma(vset(K_GELU_C) * v, v * v, v);
}

static void k_unary(int op, const float *x, float *y, int64_t n) {
  const vf one = vset(1.0f), half = vset(0.5f), zero = vset(0.0f);
  (void)zero;
  switch (op) {
    case LOOM_EXP: UN_LOOP(vexp(v)); break;
    case LOOM_LOG: UN_LOOP(vlog(v)); break;
    case LOOM_SQRT: UN_LOOP(vsqrt(v)); break;
    case LOOM_RSQRT: UN_LOOP(one / vsqrt(v)); break;
    case LOOM_TANH: UN_LOOP(vtanh(v)); break;
    case LOOM_SIGMOID: UN_LOOP(k_sigmoid(v)); break;
    case LOOM_RELU: UN_LOOP(vmax(zero, v)); break;  // NaN propagates
    case LOOM_GELU_ERF: UN_LOOP(half * v * (one + verf(v * vset(K_SQRT1_2)))); break;
    case LOOM_GELU_TANH: UN_LOOP(half * v * (one + vtanh(k_gelu_inner(v)))); break;
    case LOOM_SILU: UN_LOOP(v / (one + vexp(-v))); break;
    case LOOM_NEG: UN_LOOP(-v); break;
    case LOOM_ABS: UN_LOOP(vabs(v)); break;
    case LOOM_SQUARE: UN_LOOP(v * v); break;
    case LOOM_RECIPROCAL: UN_LOOP(one / v); break;
    case LOOM_SIN: UN_LOOP(vsin(v)); break;
    case LOOM_COS: UN_LOOP(vcos(v)); break;
    default: UN_LOOP(v); break;
  }
}

static void k_pow_s(const float *x, float p, float *y, int64_t n) {
  const vf one = vset(1.0f), vp = vset(p);
  if (p == 2.0f) UN_LOOP(v * v)
  else if (p == 1.0f) UN_LOOP(v)
  else if (p == 0.0f) UN_LOOP(one)
  else if (p == 0.5f) UN_LOOP(vsqrt(v))
  else if (p == -1.0f) UN_LOOP(one / v)
  else if (p == 3.0f) UN_LOOP(v * v * v)
  else if (p == -0.5f) UN_LOOP(one / vsqrt(v))
  else UN_LOOP(vpow(v, vp))
}

static void k_leaky(const float *x, float slope, float *y, int64_t n) {
  const vf s = vset(slope), zero = vset(0.0f);
  UN_LOOP(vsel(vgt(v, zero), v, v * s));
}

#define UNB_LOOP(EXPR)                                              \
  for (int64_t i = 0; i < n; i += VW) {                            \
    int64_t r = n - i;                                             \
    vf v = ldn(x + i, r), g = ldn(gy + i, r);                      \
    stn(gx + i, EXPR, r);                                          \
  }

static inline vf k_gelu_erf_grad(vf v) {  // Phi(x) + x*phi(x)
  const vf half = vset(0.5f), one = vset(1.0f);
  vf e = vexp(vset(-0.5f) * v * v);  // = exp(-(x/sqrt2)^2), shared by erf and the pdf
  vf cdf = half * (one + verf_ex2(v * vset(K_SQRT1_2), e));
  vf pdf = e * vset(K_INV_SQRT_2PI);
  return vfma(v, pdf, cdf);
}
static inline vf k_gelu_tanh_grad(vf v) {  // PyTorch's formula
  const vf half = vset(0.5f), one = vset(1.0f);
  vf t = vtanh(k_gelu_inner(v));
  vf left = half * v, right = one + t;
  vf dinner = vset(K_SQRT_2_OVER_PI) * vfma(vset(3.0f * K_GELU_C) * v, v, one);
  vf rd = left * (one - t * t) * dinner;
  return half * right + rd;
}
static inline vf k_silu_grad(vf v) {
  vf s = k_sigmoid(v);
  return s * vfma(v, vset(1.0f) - s, vset(1.0f));
}

static inline vf k_tanh_grad(vf v) { vf t = vtanh(v); return vset(1.0f) - t * t; }
static inline vf k_sigmoid_grad(vf v) { vf s = k_sigmoid(v); return s * (vset(1.0f) - s); }

static void k_unary_bwd(int op, const float *x, const float *gy, float *gx, int64_t n) {
  const vf zero = vset(0.0f);
  switch (op) {
    case LOOM_TANH: UNB_LOOP(g * k_tanh_grad(v)); break;
    case LOOM_SIGMOID: UNB_LOOP(g * k_sigmoid_grad(v)); break;
    case LOOM_RELU: UNB_LOOP(vsel(vgt(v, zero), g, zero)); break;
    case LOOM_GELU_ERF: UNB_LOOP(g * k_gelu_erf_grad(v)); break;
    case LOOM_GELU_TANH: UNB_LOOP(g * k_gelu_tanh_grad(v)); break;
    case LOOM_SILU: UNB_LOOP(g * k_silu_grad(v)); break;
    case LOOM_EXP: UNB_LOOP(g * vexp(v)); break;
    case LOOM_LOG: UNB_LOOP(g / v); break;
    case LOOM_SQRT: UNB_LOOP(g * vset(0.5f) / vsqrt(v)); break;
    case LOOM_NEG: UNB_LOOP(-g); break;
    case LOOM_SQUARE: UNB_LOOP(vset(2.0f) * v * g); break;
    default: UNB_LOOP(g); break;
  }
}

// Binary cross-entropy on probabilities, PyTorch's clamping: logs floored at -100.
static void k_bce(const float *p, const float *t, float *out, int64_t n) {
  const vf one = vset(1.0f), floor = vset(-100.0f);
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf vp = ldn(p + i, r), vt = ldn(t + i, r);
    vf lp = vmax(floor, vlog(vp)), l1p = vmax(floor, vlog(one - vp));  // NaN propagates
    stn(out + i, -vfma(vt, lp - l1p, l1p), r);
  }
}

// d/dp = g · (p − t) / max(p·(1 − p), 1e-12); g per element (gy) or one scalar (gs).
static void k_bce_bwd(const float *p, const float *t, const float *gy, float gs, float *gx, int64_t n) {
  const vf one = vset(1.0f), eps = vset(1e-12f), vg = vset(gs);
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf vp = ldn(p + i, r), vt = ldn(t + i, r);
    vf g = gy ? ldn(gy + i, r) : vg;
    stn(gx + i, g * (vp - vt) / vmax(eps, vp * (one - vp)), r);
  }
}
