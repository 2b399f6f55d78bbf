// tanh and erf written on the vf abstraction (used by the AVX2/AVX-512 tables;
// inlined, so no call/spill cost in GELU loops). The scalar table uses libm.

// tanh: odd polynomial for |x| < 0.625 (Cephes tanhf coefficients, ~1-2 ulp);
// otherwise 1 - 2/(e^{2|x|} + 1), sign restored.
static inline vf vtanh_fast(vf x) {
  vf a = vabs(x);
  vf z = x * x;
  vf p = vset(-5.70498872745e-3f);
  p = vfma(p, z, vset(2.06390887954e-2f));
  p = vfma(p, z, vset(-5.37397155531e-2f));
  p = vfma(p, z, vset(1.33314422036e-1f));
  p = vfma(p, z, vset(-3.33332819422e-1f));
  vf small = vfma(p * z, x, x);
  vf big = vset(1.0f) - vset(2.0f) / (vexp(a + a) + vset(1.0f));
  big = vsel(vgt(vset(0.0f), x), -big, big);
  return vsel(vgt(vset(0.625f), a), small, big);
}

// erf: Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7 absolute), the same
// approximation PyTorch's vectorized CPU erf uses.
// `ex2` must be exp(-x*x): GELU's backward needs that exponential too, so it
// computes it once and passes it in. 1/(1+p|x|) uses rcp + one Newton step
// (~1e-7 relative), well inside the approximation's own error.
static inline vf verf_ex2(vf x, vf ex2) {
  vf a = vabs(x);
  vf t = vrcp_nr(vfma(vset(0.3275911f), a, vset(1.0f)));
  vf p = vset(1.061405429f);
  p = vfma(p, t, vset(-1.453152027f));
  p = vfma(p, t, vset(1.421413741f));
  p = vfma(p, t, vset(-0.284496736f));
  p = vfma(p, t, vset(0.254829592f));
  vf r = vset(1.0f) - p * t * ex2;
  return vsel(vgt(vset(0.0f), x), -r, r);
}
static inline vf verf_fast(vf x) { return verf_ex2(x, vexp(-(x * x))); }
