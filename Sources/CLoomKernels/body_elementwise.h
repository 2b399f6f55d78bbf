// Elementwise kernel bodies (compiled once per ISA; see isa_*.c).
// Loops handle the tail with masked loads/stores (ldn/stn) so there is no scalar epilogue.

#define BIN_LOOP(EXPR)                                              \
  for (int64_t i = 0; i < n; i += VW) {                            \
    int64_t r = n - i;                                             \
    vf x = ldn(a + i, r), y = ldn(b + i, r);                       \
    stn(out + i, EXPR, r);                                         \
  }

static void k_binop(int op, const float *a, const float *b, float *out, int64_t n) {
  switch (op) {
    case 0: BIN_LOOP(x + y); break;
    case 1: BIN_LOOP(x - y); break;
    case 2: BIN_LOOP(x * y); break;
    default: BIN_LOOP(x / y); break;
  }
}

#define BINS_LOOP(EXPR)                                             \
  for (int64_t i = 0; i < n; i += VW) {                            \
    int64_t r = n - i;                                             \
    vf x = ldn(a + i, r);                                          \
    stn(out + i, EXPR, r);                                         \
  }

static void k_binop_s(int op, const float *a, float s, float *out, int64_t n) {
  vf y = vset(s);
  switch (op) {
    case 0: BINS_LOOP(x + y); break;
    case 1: BINS_LOOP(x - y); break;
    case 2: BINS_LOOP(x * y); break;
    default: BINS_LOOP(x / y); break;
  }
}

static void k_affine(const float *a, float alpha, float beta, float *out, int64_t n) {
  vf va = vset(alpha), vb = vset(beta);
  BINS_LOOP(vfma(x, va, vb));
}

static void k_axpy(float alpha, const float *x, float *y, int64_t n) {
  vf va = vset(alpha);
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    stn(y + i, vfma(va, ldn(x + i, r), ldn(y + i, r)), r);
  }
}

static void k_fill(float *out, float v, int64_t n) {
  vf vv = vset(v);
  for (int64_t i = 0; i < n; i += VW) stn(out + i, vv, n - i);
}
