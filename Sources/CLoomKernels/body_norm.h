// LayerNorm / RMSNorm rows. Statistics use the blocked float+double sums
// (two-pass mean then squared deviations) for accuracy.

static void k_ln_row(const float *x, const float *w, const float *b, float eps, float *y, float *mean_o,
                     float *rstd_o, int64_t n) {
  double dmean = k_sum(x, n) / (double)n;
  float mean = (float)dmean;
  double var = k_sumsq_dev(x, mean, n) / (double)n;
  float rstd = (float)(1.0 / sqrt(var + (double)eps));
  if (mean_o) *mean_o = mean;
  if (rstd_o) *rstd_o = rstd;
  const vf vm = vset(mean), vr = vset(rstd), zero = vset(0);
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf xh = (ldn(x + i, r) - vm) * vr;
    vf o = w ? (b ? vfma(xh, ldn(w + i, r), ldn(b + i, r)) : xh * ldn(w + i, r)) : (b ? xh + ldn(b + i, r) : xh + zero);
    stn(y + i, o, r);
  }
}

// gx = rstd * (g - mean(g) - xhat * mean(g*xhat)), g = gy*w
static void k_ln_bwd_row(const float *gy, const float *x, const float *w, float mean, float rstd, float *gx,
                         float *gwacc, float *gbacc, int64_t n) {
  const vf vm = vset(mean), vr = vset(rstd);
  vf sg0 = vset(0), sgx0 = vset(0);
  double sg = 0, sgx = 0;
  for (int64_t b0 = 0; b0 < n; b0 += RBLK) {  // float blocks, double totals
    int64_t e = n - b0 < RBLK ? n : b0 + RBLK;
    sg0 = vset(0); sgx0 = vset(0);
    for (int64_t i = b0; i < e; i += VW) {
      int64_t r = e - i;
      vf g = ldn(gy + i, r), xh = (ldn(x + i, r) - vm) * vr;
      if (gwacc) stn(gwacc + i, vfma(g, xh, ldn(gwacc + i, r)), r);
      if (gbacc) stn(gbacc + i, g + ldn(gbacc + i, r), r);
      if (w) g = g * ldn(w + i, r);
      sg0 = sg0 + g;
      sgx0 = vfma(g, xh, sgx0);
    }
    sg += vhsum(sg0);
    sgx += vhsum(sgx0);
  }
  const vf a = vset((float)(sg / (double)n)), c = vset((float)(sgx / (double)n));
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf g = ldn(gy + i, r);
    if (w) g = g * ldn(w + i, r);
    vf xh = (ldn(x + i, r) - vm) * vr;
    stn(gx + i, vr * (g - a - xh * c), r);
  }
}

static void k_rms_row(const float *x, const float *w, float eps, float *y, float *rstd_o, int64_t n) {
  double ms = k_dot(x, x, n) / (double)n;
  float rstd = (float)(1.0 / sqrt(ms + (double)eps));
  if (rstd_o) *rstd_o = rstd;
  const vf vr = vset(rstd);
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf o = ldn(x + i, r) * vr;
    if (w) o = o * ldn(w + i, r);
    stn(y + i, o, r);
  }
}

// y = x*rstd*w: gx = rstd*(g - x*rstd^2*mean(g*x)), g = gy*w; gw += gy*x*rstd
static void k_rms_bwd_row(const float *gy, const float *x, const float *w, float rstd, float *gx,
                          float *gwacc, int64_t n) {
  const vf vr = vset(rstd);
  double sgx = 0;
  for (int64_t b0 = 0; b0 < n; b0 += RBLK) {
    int64_t e = n - b0 < RBLK ? n : b0 + RBLK;
    vf acc = vset(0);
    for (int64_t i = b0; i < e; i += VW) {
      int64_t r = e - i;
      vf g = ldn(gy + i, r), xv = ldn(x + i, r);
      if (gwacc) stn(gwacc + i, vfma(g, xv * vr, ldn(gwacc + i, r)), r);
      if (w) g = g * ldn(w + i, r);
      acc = vfma(g, xv, acc);
    }
    sgx += vhsum(acc);
  }
  const vf c = vset((float)((double)rstd * rstd * (sgx / (double)n)));
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf g = ldn(gy + i, r);
    if (w) g = g * ldn(w + i, r);
    stn(gx + i, vr * (g - ldn(x + i, r) * c), r);
  }
}
