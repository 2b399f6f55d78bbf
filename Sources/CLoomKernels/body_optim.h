// Optimizer steps, written in the same operation order as torch.optim's
// single-tensor CPU path (lerp for m, addcmul for v, addcdiv for p).

static void k_adam(float *p, const float *g, float *m, float *v, int64_t n, const loom_adam_consts *c) {
  const vf decay = vset(c->decay), l2 = vset(c->l2), w1 = vset(c->w1), b2 = vset(c->beta2), c2 = vset(c->c2);
  const vf nstep = vset(-c->step_size), bc2s = vset(c->bc2_sqrt), eps = vset(c->eps);
  const int has_l2 = c->l2 != 0.0f, has_decay = c->decay != 1.0f;
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf pv = ldn(p + i, r), gv = ldn(g + i, r), mv = ldn(m + i, r), vv = ldn(v + i, r);
    if (has_l2) gv = gv + l2 * pv;
    if (has_decay) pv = pv * decay;
    mv = mv + w1 * (gv - mv);
    vv = vv * b2 + (c2 * gv) * gv;
    vf denom = vsqrt(vv) / bc2s + eps;
    pv = pv + (nstep * mv) / denom;
    stn(p + i, pv, r); stn(m + i, mv, r); stn(v + i, vv, r);
  }
}

// bitsandbytes' CPU 8-bit Adam on dequantized moments: m = m*b1 + (1-b1)g, v = v*b2 + (1-b2)g²,
// p *= 1 - lr*wd, p += (-lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps).
static void k_adam8_block(float *p, const float *g, float *m, float *v, int64_t n, const loom_adam8_consts *c) {
  const vf b1 = vset(c->beta1), w1 = vset(c->w1), b2 = vset(c->beta2), c2 = vset(c->c2);
  const vf bc2s = vset(c->bc2_sqrt), eps = vset(c->eps), decay = vset(c->decay), ss = vset(c->step_size);
  const int has_decay = c->decay != 1.0f;
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf pv = ldn(p + i, r), gv = ldn(g + i, r), mv = ldn(m + i, r), vv = ldn(v + i, r);
    mv = mv * b1 + w1 * gv;
    vv = vv * b2 + (c2 * gv) * gv;
    vf denom = vsqrt(vv) / bc2s + eps;
    if (has_decay) pv = pv * decay;
    pv = pv + ss * (mv / denom);
    stn(p + i, pv, r); stn(m + i, mv, r); stn(v + i, vv, r);
  }
}

static void k_sgd(float *p, const float *g, float *buf, int64_t n, float lr, float momentum, float dampening,
                  float wd, int nesterov, int first_step) {
  const vf vwd = vset(wd), vmom = vset(momentum), vdamp = vset(1.0f - dampening), nlr = vset(-lr);
  for (int64_t i = 0; i < n; i += VW) {
    int64_t r = n - i;
    vf pv = ldn(p + i, r), d = ldn(g + i, r);
    if (wd != 0.0f) d = d + vwd * pv;
    if (momentum != 0.0f) {
      vf b = first_step ? d : ldn(buf + i, r) * vmom + vdamp * d;
      stn(buf + i, b, r);
      d = nesterov ? d + vmom * b : b;
    }
    stn(p + i, pv + nlr * d, r);
  }
}
