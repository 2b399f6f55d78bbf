#!/usr/bin/env python3
"""PyTorch / Hugging Face counterpart of `loom-bench gpt`: training tokens/s (forward,
backward, clipping, AdamW) for the seeds' scratch config and GPT-2 small, and greedy
`generate` tokens/s with the KV cache, fp32 eager, random weights.

Training is measured twice: with Hugging Face's `GPT2LMHeadModel` (what users reach for,
impl "torch") and with the strongest eager formulation a good engineer would write for
the same model (impl "torch-sdpa": nanoGPT-style modules, one fused QKV projection,
`F.scaled_dot_product_attention`, the fused loss, `AdamW(fused=True)`)."""
import json
import os
import resource
import statistics
import sys
import time

# bench/pytorch/tokenizers.py would shadow the `tokenizers` package transformers needs.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

quick = "--quick" in sys.argv
# `--bf16`: the seeds' config only, under CPU autocast to bfloat16 (float32 master weights), as
# `Trainer(bf16=True)` trains; compared with `loom-bench gpt --bf16`.
bf16 = "--bf16" in sys.argv


def emit(bench, config, value, unit, **extra):
    print(json.dumps({"suite": "gpt", "bench": bench, "config": config, "value": value, "unit": unit, "impl": "torch",
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra},
                     sort_keys=True), flush=True)


class Block(nn.Module):
    """A GPT-2 block as nanoGPT writes it: pre-LN, fused QKV, SDPA (flash/memory-efficient kernels)."""

    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd)
        self.ln_2 = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd)
        self.mlp_proj = nn.Linear(4 * c.n_embd, c.n_embd)
        self.n_head, self.attn_p, self.resid = c.n_head, c.attn_pdrop, nn.Dropout(c.resid_pdrop)

    def forward(self, x):
        b, t, e = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(e, dim=2)
        q, k, v = (z.view(b, t, self.n_head, e // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_p if self.training else 0.0, is_causal=True)
        x = x + self.resid(self.c_proj(y.transpose(1, 2).reshape(b, t, e)))
        return x + self.resid(self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")))


class NanoGPT(nn.Module):
    """GPT-2 (tied head, learned positions) in the strongest plain-PyTorch eager form."""

    def __init__(self, c):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(c.vocab_size, c.n_embd), nn.Embedding(c.n_positions, c.n_embd)
        self.drop = nn.Dropout(c.embd_pdrop)
        self.h = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=c.initializer_range)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, ids, labels):
        t = ids.shape[1]
        x = self.drop(self.wte(ids) + self.wpe(torch.arange(t)))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1))


def train(name, config, batch, block, steps, impl="torch"):
    torch.manual_seed(0)
    strongest = impl == "torch-sdpa"
    model = NanoGPT(config) if strongest else GPT2LMHeadModel(config)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=3e-4, **({"fused": True} if strongest else {}))
    ids = torch.randint(0, config.vocab_size, (batch, block))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(ids, ids) if strongest else model(ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    samples = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        samples.append(time.perf_counter() - t0)
    emit("train", name, batch * block / statistics.median(samples), "tokens/s", batch=batch, block=block,
         precision="bf16-autocast" if bf16 else "fp32", **({"impl": impl} if strongest else {}))


seed = GPT2Config(vocab_size=65, n_positions=256, n_embd=384, n_layer=6, n_head=6, resid_pdrop=0.2, embd_pdrop=0.2,
                  attn_pdrop=0.2, activation_function="gelu_new")
for impl in ("torch", "torch-sdpa"):
    train("seed", seed, 8, 256, 2 if quick else 5, impl)
    if not bf16:
        train("gpt2-small", GPT2Config(), 4, 128, 1 if quick else 3, impl)
if bf16:
    sys.exit(0)

torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config()).eval()
prompt = torch.tensor([[(i * 37) % 50000 for i in range(16)]])
new_tokens = 16 if quick else 64
with torch.no_grad():
    model.generate(prompt, max_new_tokens=4, do_sample=False, pad_token_id=50256)
    samples = []
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        model.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, pad_token_id=50256)
        samples.append(time.perf_counter() - t0)
emit("generate", "gpt2-small", new_tokens / statistics.median(samples), "tokens/s", new_tokens=new_tokens)
