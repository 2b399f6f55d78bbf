// Softmax family and cross-entropy, one row at a time (max-subtracted).

// y = exp(x - m) (y may be NULL), returns sum; partial lanes load -inf so they
// add exp(-inf) = 0. Blocked like k_sum so long rows (vocab logits) stay accurate.
static double k_exp_sum_impl(const float *x, float m, float *y, int64_t n) {
  const vf vm = vset(m);
  const float ninf = -__builtin_inff();
  double tot = 0;
  for (int64_t b0 = 0; b0 < n; b0 += RBLK) {
    int64_t e = n - b0 < RBLK ? n : b0 + RBLK;
    vf s0 = vset(0), s1 = vset(0);
    int64_t i = b0;
    for (; i + 2 * VW <= e; i += 2 * VW) {
      vf e0 = vexp(vld(x + i) - vm), e1 = vexp(vld(x + i + VW) - vm);
      if (y) { vst(y + i, e0); vst(y + i + VW, e1); }
      s0 = s0 + e0; s1 = s1 + e1;
    }
    for (; i < e; i += VW) {
      vf ev = vexp(ldnf(x + i, e - i, ninf) - vm);
      if (y) stn(y + i, ev, e - i);
      s0 = s0 + ev;
    }
    tot += (double)vhsum(s0 + s1);
  }
  return tot;
}
static float k_exp_store_sum(const float *x, float m, float *y, int64_t n) { return (float)k_exp_sum_impl(x, m, y, n); }
static float k_exp_sum(const float *x, float m, int64_t n) { return (float)k_exp_sum_impl(x, m, NULL, n); }

static void k_softmax_row(const float *x, float *y, int64_t n) {
  if (n <= 0) return;
  float m = k_rowmax(x, n);
  float s = k_exp_store_sum(x, m, y, n);
  const vf inv = vset(1.0f / s);
  for (int64_t i = 0; i < n; i += VW) stn(y + i, ldn(y + i, n - i) * inv, n - i);
}

static void k_log_softmax_row(const float *x, float *y, int64_t n) {
  if (n <= 0) return;
  float m = k_rowmax(x, n);
  float s = k_exp_sum(x, m, n);
  const vf c = vset(m + logf(s));
  for (int64_t i = 0; i < n; i += VW) stn(y + i, ldn(x + i, n - i) - c, n - i);
}

static void k_softmax_bwd_row(const float *y, const float *gy, float *gx, int64_t n) {
  const vf d = vset((float)k_dot(y, gy, n));
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    stn(gx + i, ldn(y + i, r) * (ldn(gy + i, r) - d), r);
  }
}

static void k_log_softmax_bwd_row(const float *y, const float *gy, float *gx, int64_t n) {
  const vf s = vset((float)k_sum(gy, n));
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf g = ldn(gy + i, r);
    stn(gx + i, g - vexp(ldn(y + i, r)) * s, r);
  }
}

// log-sum-exp in one pass over memory: per cache-sized block, take the block max,
// rescale the running sum when the max grows, then add the block's exps (the
// block is still in L1). Matters for vocabulary-sized rows.
static double k_lse_row(const float *x, int64_t n) {
  float m = -__builtin_inff();
  double s = 0;
  for (int64_t b0 = 0; b0 < n; b0 += RBLK) {
    int64_t len = n - b0 < RBLK ? n - b0 : RBLK;
    float bm = k_rowmax(x + b0, len);
    if (bm > m) {
      if (s != 0) s *= exp((double)m - (double)bm);
      m = bm;
    }
    s += k_exp_sum_impl(x + b0, m, NULL, len);
  }
  return (double)m + log(s);
}

// Per-row cross-entropy: (1-eps)*(lse - x[t]) + eps*(lse - mean(x)).
static float k_ce_row(const float *x, int64_t t, float eps, int64_t n, float *lse_out) {
  double lse = k_lse_row(x, n);
  *lse_out = (float)lse;
  double xt = (t >= 0 && t < n) ? (double)x[t] : __builtin_nan("");
  double loss = lse - xt;
  if (eps != 0.0f) loss = (1.0 - eps) * loss + eps * (lse - k_sum(x, n) / (double)n);
  return (float)loss;
}

// dx = g * (softmax(x) - eps/n) - g*(1-eps) at the target
static void k_ce_bwd_row(const float *x, int64_t t, float eps, float lse, float g, float *dx, int64_t n) {
  const vf vl = vset(lse), vg = vset(g), off = vset(-g * eps / (float)n);
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    stn(dx + i, vfma(vg, vexp(ldn(x + i, r) - vl), off), r);
  }
  if (t >= 0 && t < n) dx[t] -= g * (1.0f - eps);
}
