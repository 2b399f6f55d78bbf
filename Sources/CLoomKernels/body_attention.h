// Row helpers of the flash-attention kernels (attention.c), vectorised per ISA.

// Scales the first `vis` scores by `scale`, sets the rest of the row (masked keys) to
// -inf and returns the row's max (-inf when nothing is visible).
static float k_attn_scores(float *row, int64_t vis, int64_t n, float scale) {
  const float ninf = -__builtin_inff();
  const vf vs = vset(scale);
  vf m0 = vset(ninf);
  int64_t i = 0;
  for (; i + VW <= vis; i += VW) {
    vf v = vld(row + i) * vs;
    vst(row + i, v);
    m0 = vmax(m0, v);
  }
  if (i < vis) {
    vf v = ldnf(row + i, vis - i, ninf) * vs;
    stn(row + i, v, vis - i);
    m0 = vmax(m0, v);
    i = vis;
  }
  for (; i < n; i++) row[i] = ninf;
  return vhmax(m0);
}

// dS = P ∘ (dP − D) · scale, written over dP.
static void k_attn_ds(const float *p, float *dp, float d, float scale, int64_t n) {
  const vf vd = vset(d), vs = vset(scale);
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    stn(dp + i, ldn(p + i, r) * (ldn(dp + i, r) - vd) * vs, r);
  }
}
