#!/usr/bin/env bash
# The original Transformer ("Attention Is All You Need", TransformerSeq2SeqLM) learns to reverse
# (or, with --task sort, sort) random token sequences from scratch on ONE core: `loom-bench
# transformer-reverse` trains it with the library Trainer, then greedy-decodes held-out
# sequences (never in the training set) and reports the exact-match fraction. Each run appends
# its JSON line to bench/results/session10-transformer-reverse.jsonl (or RESULTS).
# usage: scripts/quality/transformer_reverse.sh [loom-bench transformer-reverse flags…]
#   defaults: lengths 3–10 over 20 tokens, d_model 64, 4 heads, 2+2 layers, ffn 256, batch 64,
#   1500 steps, lr 1e-3 with 200 warmup steps, 50,000 training and 1,000 held-out sequences.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
results="${RESULTS:-$root/bench/results/session10-transformer-reverse.jsonl}"
bench="$root/.build/release/loom-bench"
[ -x "$bench" ] || (cd "$root" && swift build -c release --product loom-bench)
LOOM_NUM_THREADS=1 "$bench" transformer-reverse "$@" | tee -a "$results"
