#!/usr/bin/env python3
"""PyTorch + PEFT counterpart of `loom-bench peft`, fp32 on the CPU, random weights:

- lora-gpt2: one LoRA training step on a GPT-2-small-shaped causal LM (GPT2Config() defaults, 124 M parameters)
  with PEFT's default GPT-2 targets (c_attn, fan_in_fan_out), r 16, lora_alpha 16, lora_dropout 0.1 (the seeds'
  LoraConfig); forward with labels, backward, clipping, AdamW over the trainable parameters only; batch 4, 256
  tokens.
- lora-llama: the same step on a Llama-shaped causal LM of about 100 M parameters (hidden 768, 8 layers, 12 heads,
  4 key/value heads, intermediate 2048, vocab 32000, untied head) with PEFT's default Llama targets (q_proj,
  v_proj).

impl "torch-sdpa" is the strongest eager formulation (attn_implementation="sdpa", AdamW(fused=True)). tokens/s
counts batch × sequence per step; peak_rss_mb shows that frozen weights carry no gradients or optimizer state.
Each bench runs in its own process so that its peak RSS is its own. --only a,b picks benches; --quick takes fewer
steps; --lockstep (with --only BENCH) speaks bench/paired.py's protocol."""
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

BENCHES = ("lora-gpt2", "lora-llama")
BATCH, SEQ, RANK = 4, 256, 16
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
    print(json.dumps({"suite": "peft", "bench": bench, "config": config, "value": value, "unit": unit,
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


def base_model(name):
    torch.manual_seed(0)
    if name == "lora-gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel
        return GPT2LMHeadModel(GPT2Config(attn_implementation="sdpa")), "gpt2-small"
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=8,
                         num_attention_heads=12, num_key_value_heads=4, max_position_embeddings=1024,
                         tie_word_embeddings=False, attn_implementation="sdpa")
    return LlamaForCausalLM(config), "llama-100m"


def lora_train(name):
    from peft import LoraConfig, TaskType, get_peft_model
    base, config_name = base_model(name)
    total = sum(p.numel() for p in base.parameters())
    model = get_peft_model(base, LoraConfig(task_type=TaskType.CAUSAL_LM, r=RANK, lora_alpha=16, lora_dropout=0.1))
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-3, weight_decay=0.01, fused=True)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, base.config.vocab_size, (BATCH, SEQ), generator=g)
    mask = torch.ones_like(ids)

    def step():
        loss = model(input_ids=ids, attention_mask=mask, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    step()
    seconds = timed(step, 2 if quick else 5)
    emit(name, config_name, BATCH * SEQ / seconds, "tokens/s", "torch-sdpa", batch=BATCH, seq=SEQ, r=RANK,
         parameters=total, trainable=sum(p.numel() for p in trainable))


for name in only:
    if name in BENCHES:
        lora_train(name)
    else:
        sys.exit(f"unknown bench {name} (benches: {', '.join(BENCHES)})")
