#!/usr/bin/env python3
"""PyTorch / Hugging Face counterpart of `loom-bench seq2seq`, fp32 on the CPU, random weights:

- bart-train: one BART-base-shaped training step (BartConfig(d_model=768, 6 + 6 layers, 12 heads, FFN 3072,
  vocab 50265); forward with labels, backward, clipping, AdamW), source and target length 128, batch 4;
  tokens/s counts source + target tokens. impl "torch-sdpa" is the strongest eager formulation
  (attn_implementation="sdpa", AdamW(fused=True)); impl "torch" uses eager attention and foreach AdamW.
- bart-beam: `generate` with 4 beams, 32 new tokens (min_new_tokens = max_new_tokens so random weights cannot
  stop early) from a 64-token source, batch 1, under inference_mode; new tokens/s.

Each bench runs in its own process so that its peak RSS is its own. --only a,b picks benches; --quick takes
fewer steps; --lockstep (with --only BENCH) speaks bench/paired.py's protocol."""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# bench/pytorch/tokenizers.py would shadow the `tokenizers` package transformers needs.
here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != here]

BENCHES = ("bart-train", "bart-beam", "switch-train")
quick = "--quick" in sys.argv
only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
lockstep = "--lockstep" in sys.argv
if lockstep and (only is None or len(only) != 1):
    sys.exit("--lockstep needs --only with exactly one bench")

if only is None:
    passthrough = [a for a in sys.argv[1:] if a in ("--quick",)]
    for name in BENCHES:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--only", name, *passthrough], check=True)
    sys.exit(0)

import torch  # noqa: E402


def emit(bench, config, value, unit, impl, **extra):
    print(json.dumps({"suite": "seq2seq", "bench": bench, "config": config, "value": value, "unit": unit,
                      "impl": impl, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      **extra}, sort_keys=True), flush=True)


def timed(body, steps):
    """Median seconds of `steps` calls (bench/paired.py drives them under --lockstep)."""
    if lockstep:
        print("ready", flush=True)
        samples = []
        for line in sys.stdin:
            if line.strip() != "step":
                break
            t0 = time.perf_counter()
            body()
            ms = (time.perf_counter() - t0) * 1000
            samples.append(ms / 1000)
            print(f"step {ms}", flush=True)
        if not samples:
            sys.exit("lockstep: stopped before any step")
        return statistics.median(samples)
    samples = []
    for _ in range(steps):
        t0 = time.perf_counter()
        body()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def bart_base(attn):
    from transformers import BartConfig, BartForConditionalGeneration
    torch.manual_seed(0)
    config = BartConfig(vocab_size=50265, d_model=768, encoder_layers=6, decoder_layers=6,
                        encoder_attention_heads=12, decoder_attention_heads=12, encoder_ffn_dim=3072,
                        decoder_ffn_dim=3072, max_position_embeddings=1024, attn_implementation=attn)
    return BartForConditionalGeneration(config)


def random_ids(g, batch, length):
    ids = torch.randint(4, 50265, (batch, length), generator=g)
    ids[:, 0], ids[:, -1] = 0, 2
    return ids


def bart_train(impl):
    batch, seq = 4, 128
    model = bart_base("eager" if impl == "torch" else "sdpa")
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=5e-5, **({"foreach": True} if impl == "torch" else {"fused": True}))
    g = torch.Generator().manual_seed(0)
    source, labels = random_ids(g, batch, seq), random_ids(g, batch, seq)
    mask = torch.ones_like(source)

    def step():
        loss = model(input_ids=source, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    step()
    seconds = timed(step, 2 if quick else 6)
    emit("bart-train", "bart-base", 2 * batch * seq / seconds, "tokens/s", impl, batch=batch, seq=seq,
         parameters=sum(p.numel() for p in model.parameters()))


def bart_beam():
    new_tokens = 8 if quick else 32
    model = bart_base("sdpa")
    model.eval()
    g = torch.Generator().manual_seed(1)
    source = random_ids(g, 1, 64)

    def run(n):
        with torch.inference_mode():
            model.generate(source, num_beams=4, max_new_tokens=n, min_new_tokens=n)

    run(2)
    seconds = timed(lambda: run(new_tokens), 1 if quick else 3)
    emit("bart-beam", "bart-base-beams4", new_tokens / seconds, "tokens/s", "torch-sdpa", beams=4, source=64,
         new_tokens=new_tokens)


def switch_base_8(layers):
    from transformers import SwitchTransformersConfig, SwitchTransformersForConditionalGeneration
    torch.manual_seed(0)
    config = SwitchTransformersConfig(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_heads=12,
                                      num_experts=8, expert_capacity=64, num_layers=layers,
                                      num_decoder_layers=layers, num_sparse_encoder_layers=layers // 2,
                                      num_sparse_decoder_layers=layers // 2, decoder_start_token_id=0)
    return SwitchTransformersForConditionalGeneration(config)


def t5_random_ids(g, batch, length, vocab=32128):
    """Random ids past T5's specials (pad 0, eos 1, unk 2), each row ending in eos."""
    ids = torch.randint(3, vocab, (batch, length), generator=g)
    ids[:, -1] = 1
    return ids


def switch_train():
    batch, seq, layers = 4, 128, 6
    model = switch_base_8(layers)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=5e-5, fused=True)
    g = torch.Generator().manual_seed(0)
    source, labels = t5_random_ids(g, batch, seq), t5_random_ids(g, batch, seq)
    mask = torch.ones_like(source)

    def step():
        loss = model(input_ids=source, attention_mask=mask, labels=labels, output_router_logits=True).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    step()
    seconds = timed(step, 2 if quick else 6)
    emit("switch-train", "switch-base-8-6+6", 2 * batch * seq / seconds, "tokens/s", "torch", batch=batch, seq=seq,
         layers=layers, parameters=sum(p.numel() for p in model.parameters()))


for name in only:
    if name == "bart-train":
        bart_train("torch-sdpa")
        if not lockstep:
            bart_train("torch")
    elif name == "bart-beam":
        bart_beam()
    elif name == "switch-train":
        switch_train()
    else:
        sys.exit(f"unknown bench {name} (benches: {', '.join(BENCHES)})")
