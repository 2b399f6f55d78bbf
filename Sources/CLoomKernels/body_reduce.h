// Reductions. Sums run in float over blocks of 128*VW elements with 4 vector
// accumulators (each lane adds 32 values) and add the block totals in double:
// near-double accuracy at float speed, the same for every ISA.
#define RBLK (128 * VW)

static double k_sum(const float *x, int64_t n) {
  double tot = 0.0;
  for (int64_t b0 = 0; b0 < n; b0 += RBLK) {
    int64_t e = n - b0 < RBLK ? n : b0 + RBLK;
    vf a0 = vset(0), a1 = vset(0), a2 = vset(0), a3 = vset(0);
    int64_t i = b0;
    for (; i + 4 * VW <= e; i += 4 * VW) {
      a0 = a0 + vld(x + i); a1 = a1 + vld(x + i + VW);
      a2 = a2 + vld(x + i + 2 * VW); a3 = a3 + vld(x + i + 3 * VW);
    }
    for (; i < e; i += VW) a0 = a0 + ldn(x + i, e - i);
    tot += (double)vhsum((a0 + a1) + (a2 + a3));
  }
  return tot;
}

// sum of (x - c)^2, same blocking
static double k_sumsq_dev(const float *x, float c, int64_t n) {
  double tot = 0.0;
  const vf vc = vset(c);
  for (int64_t b0 = 0; b0 < n; b0 += RBLK) {
    int64_t e = n - b0 < RBLK ? n : b0 + RBLK;
    vf a0 = vset(0), a1 = vset(0), a2 = vset(0), a3 = vset(0);
    int64_t i = b0;
    for (; i + 4 * VW <= e; i += 4 * VW) {
      vf d0 = vld(x + i) - vc, d1 = vld(x + i + VW) - vc;
      vf d2 = vld(x + i + 2 * VW) - vc, d3 = vld(x + i + 3 * VW) - vc;
      a0 = vfma(d0, d0, a0); a1 = vfma(d1, d1, a1); a2 = vfma(d2, d2, a2); a3 = vfma(d3, d3, a3);
    }
    for (; i < e; i += VW) { vf d = ldnf(x + i, e - i, c) - vc; a0 = vfma(d, d, a0); }
    tot += (double)vhsum((a0 + a1) + (a2 + a3));
  }
  return tot;
}

// sum of a*b
static double k_dot(const float *a, const float *b, int64_t n) {
  double tot = 0.0;
  for (int64_t b0 = 0; b0 < n; b0 += RBLK) {
    int64_t e = n - b0 < RBLK ? n : b0 + RBLK;
    vf a0 = vset(0), a1 = vset(0), a2 = vset(0), a3 = vset(0);
    int64_t i = b0;
    for (; i + 4 * VW <= e; i += 4 * VW) {
      a0 = vfma(vld(a + i), vld(b + i), a0); a1 = vfma(vld(a + i + VW), vld(b + i + VW), a1);
      a2 = vfma(vld(a + i + 2 * VW), vld(b + i + 2 * VW), a2);
      a3 = vfma(vld(a + i + 3 * VW), vld(b + i + 3 * VW), a3);
    }
    for (; i < e; i += VW) a0 = vfma(ldn(a + i, e - i), ldn(b + i, e - i), a0);
    tot += (double)vhsum((a0 + a1) + (a2 + a3));
  }
  return tot;
}

// Row max ignoring NaN handling (callers that care use k_max_row).
static float k_rowmax(const float *x, int64_t n) {
  const float ninf = -__builtin_inff();
  vf m0 = vset(ninf), m1 = vset(ninf);
  int64_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) { m0 = vmax(m0, vld(x + i)); m1 = vmax(m1, vld(x + i + VW)); }
  for (; i < n; i += VW) m0 = vmax(m0, ldnf(x + i, n - i, ninf));
  return vhmax(vmax(m0, m1));
}

// max + first argmax; NaN wins (like torch.max) at its first position.
static void k_max_row(const float *x, int64_t n, float *mo, int64_t *io) {
  if (n <= 0) { *mo = -__builtin_inff(); *io = 0; return; }
  const float ninf = -__builtin_inff();
  vf m0 = vset(ninf);
  vmask nan = vmnone();
  for (int64_t i = 0; i < n; i += VW) {
    vf v = ldnf(x + i, n - i, ninf);
    nan = vmor(nan, vunord(v, v));
    m0 = vmax(m0, v);
  }
  if (vmany(nan)) {
    for (int64_t i = 0; i < n; i++)
      if (x[i] != x[i]) { *mo = x[i]; *io = i; return; }
  }
  float m = vhmax(m0);
  int64_t idx = 0;
  for (int64_t i = 0; i < n; i++)
    if (x[i] == m) { idx = i; break; }
  *mo = m;
  *io = idx;
}
