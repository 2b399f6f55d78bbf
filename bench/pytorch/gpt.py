#!/usr/bin/env python3
"""PyTorch / Hugging Face counterpart of `loom-bench gpt`: training tokens/s (forward,
backward, clipping, AdamW) for the seeds' scratch config and GPT-2 small, and greedy
`generate` tokens/s with the KV cache, fp32 eager, random weights."""
import json
import os
import resource
import statistics
import sys
import time

# bench/pytorch/tokenizers.py would shadow the `tokenizers` package transformers needs.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

quick = "--quick" in sys.argv


def emit(bench, config, value, unit, **extra):
    print(json.dumps({"suite": "gpt", "bench": bench, "config": config, "value": value, "unit": unit, "impl": "torch",
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra},
                     sort_keys=True), flush=True)


def train(name, config, batch, block, steps):
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=3e-4)
    ids = torch.randint(0, config.vocab_size, (batch, block))

    def step():
        loss = model(ids, labels=ids).loss
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
    emit("train", name, batch * block / statistics.median(samples), "tokens/s", batch=batch, block=block)


seed = GPT2Config(vocab_size=65, n_positions=256, n_embd=384, n_layer=6, n_head=6, resid_pdrop=0.2, embd_pdrop=0.2,
                  attn_pdrop=0.2, activation_function="gelu_new")
train("seed", seed, 8, 256, 2 if quick else 5)
train("gpt2-small", GPT2Config(), 4, 128, 1 if quick else 3)

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
