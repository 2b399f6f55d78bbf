#!/usr/bin/env bash
# `loom train classify` counterpart of finetune_minilm_rt_torch.py: MiniLM fine-tuned on the
# same Rotten Tomatoes 80/10/10 split (written by the Python script's --prepare-only), with the
# same settings (3 epochs, batch 16, lr 5e-5, weight decay 0.01, max length 128, best epoch by
# accuracy), one run per seed; test accuracy / macro-F1 land in OUT/loom-seed-S/test_results.json.
# usage: scripts/quality/finetune_minilm_rt_loom.sh [OUT_DIR] [SEEDS] [EPOCHS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/loom-quality-rt}"
seeds="${2:-0,1,2}"
epochs="${3:-3}"
python="${PYTHON:-python3}"
"$python" "$root/scripts/quality/finetune_minilm_rt_torch.py" --out "$out" --prepare-only
minilm="${LOOM_HOME:-$HOME/.cache/loom}/minilm"
[ -f "$minilm/model.safetensors" ] || "$root/scripts/fetch-assets.sh"
loom="$root/.build/release/loom"
[ -x "$loom" ] || (cd "$root" && swift build -c release --product loom)
for seed in ${seeds//,/ }; do
  "$loom" train classify --model "$minilm" \
    --data "$out/split/train.csv" --validation-data "$out/split/validation.csv" --test-data "$out/split/test.csv" \
    --text-column text --label-column label --max-seq-length 128 \
    --num-train-epochs "$epochs" --per-device-train-batch-size 16 --per-device-eval-batch-size 32 \
    --learning-rate 5e-5 --weight-decay 0.01 --logging-steps 50 --seed "$seed" \
    --overwrite-output-dir --output-dir "$out/loom-seed-$seed"
  cat "$out/loom-seed-$seed/test_results.json"; echo
done
