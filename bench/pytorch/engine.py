#!/usr/bin/env python3
"""PyTorch eager (fp32, CPU) counterpart of `loom-bench engine`: same workloads, same
JSON lines ({"suite","bench","config","value","unit","impl"}), medians."""
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

quick = "--quick" in sys.argv
# --only a,b runs just those benches (as loom-bench's --only).
only = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv else None


def wanted(name):
    return only is None or name in only


# --lockstep (with --only BENCH): bench/paired.py drives the timed steps one at a time,
# alternating with Loom's (the protocol of loom-bench's --lockstep).
lockstep = "--lockstep" in sys.argv
if lockstep and (only is None or len(only) != 1):
    sys.exit("--lockstep needs --only with exactly one bench")


def lockstep_median(body):
    samples = []
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "step":
            break
        t0 = time.perf_counter()
        body()
        samples.append((time.perf_counter() - t0) * 1000)
        print(f"step {samples[-1]}", flush=True)
    if not samples:
        sys.exit("lockstep: stopped before any step")
    return statistics.median(samples)
reps = 3 if quick else 10


def emit(bench, config, value, unit, **extra):
    print(json.dumps({"suite": "engine", "bench": bench, "config": config, "value": value, "unit": unit,
                      "impl": "torch", **extra}, sort_keys=True), flush=True)


def timed(body, repeats=reps, warmup=2):
    for _ in range(warmup):
        body()
    if lockstep:
        return lockstep_median(body)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        body()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


with torch.no_grad():
    for n in ([1024] if quick else [1024, 2048, 4096]) if wanted("matmul") else []:
        a, b = torch.randn(n, n), torch.randn(n, n)
        ms = timed(lambda: a @ b, repeats=3 if n >= 4096 else reps, warmup=1)
        emit("matmul", f"n{n}", 2 * n**3 / ms / 1e6, "GFLOP/s", n=n)


def fwd_bwd(name, config, shape, f):
    if not wanted(name):
        return
    x = torch.randn(*shape, requires_grad=True)
    g = torch.randn_like(f(x))

    def step():
        x.grad = None
        f(x).backward(g)
    emit(name, config, timed(step), "ms")


fwd_bwd("softmax", "8x6x256x256", (8 * 6 * 256, 256), lambda x: F.softmax(x, dim=-1))
ln_w, ln_b = torch.ones(384, requires_grad=True), torch.zeros(384, requires_grad=True)
fwd_bwd("layernorm", "2048x384", (8 * 256, 384), lambda x: F.layer_norm(x, (384,), ln_w, ln_b))
fwd_bwd("gelu", "2048x1536", (8 * 256, 1536), lambda x: F.gelu(x, approximate="tanh"))
t65 = torch.randint(0, 65, (2048,))
fwd_bwd("cross_entropy", "2048x65", (2048, 65), lambda x: F.cross_entropy(x, t65))
tbpe = torch.randint(0, 50257, (512,))
fwd_bwd("cross_entropy", "512x50257", (512, 50257), lambda x: F.cross_entropy(x, tbpe))

if wanted("attention"):
    q, k, v = (torch.randn(8, 6, 256, 64, requires_grad=True) for _ in range(3))
    g = torch.randn(8, 6, 256, 64)
    emit("attention", "b8h6t256d64",
         timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(g)), "ms")

if wanted("adamw"):
    p = torch.nn.Parameter(torch.randn(10_000_000))
    p.grad = torch.randn(10_000_000)
    opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01, foreach=False, fused=False)
    # In lockstep the pairing is against the fused step (the faster one, which `value` reports).
    ms_default = None if lockstep else timed(opt.step)
    opt_fused = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01, fused=True)
    ms_fused = timed(opt_fused.step)
    if lockstep:
        emit("adamw", "10M", ms_fused, "ms", variants={"fused": ms_fused})
    else:
        emit("adamw", "10M", min(ms_default, ms_fused), "ms", variants={"single_tensor": ms_default, "fused": ms_fused})


class Block(torch.nn.Module):
    def __init__(self, c=384, h=6):
        super().__init__()
        self.h = h
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(c), torch.nn.LayerNorm(c)
        self.c_attn, self.c_proj = torch.nn.Linear(c, 3 * c), torch.nn.Linear(c, c)
        self.c_fc, self.c_fc2 = torch.nn.Linear(c, 4 * c), torch.nn.Linear(4 * c, c)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.c_fc2(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


def block_step():
    xb.grad = None
    block.zero_grad(set_to_none=True)
    block(xb).square().mean().backward()


if wanted("gpt_block"):
    block = Block()
    xb = torch.randn(8, 256, 384, requires_grad=True)
    ms = timed(block_step, repeats=3 if quick else 10)
    emit("gpt_block", "b8t256c384h6", ms, "ms", peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

if wanted("gpt_block_gemms"):
    layers = [(torch.randn(2048, i), torch.randn(o, i), torch.randn(2048, o))
              for i, o in ((384, 1152), (384, 384), (384, 1536), (1536, 384))]

    def gemms():
        for x, w, g in layers:
            x @ w.t()
            g @ w
            g.t() @ x

    with torch.no_grad():
        emit("gpt_block_gemms", "b8t256c384h6", timed(gemms, repeats=3 if quick else 10), "ms")

if wanted("gpt_block_forward"):
    block = Block()
    xf = torch.randn(8, 256, 384)
    with torch.no_grad():
        emit("gpt_block_forward", "b8t256c384h6", timed(lambda: block(xf), repeats=3 if quick else 10), "ms")

