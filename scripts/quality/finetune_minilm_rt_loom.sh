#!/usr/bin/env bash
# `loom train classify` counterpart of finetune_minilm_rt_torch.py: MiniLM fine-tuned on the fixed
# Rotten Tomatoes 80/10/10 split of scripts/fetch-assets.sh with the same settings (3 epochs, batch 16,
# lr 5e-5, weight decay 0.01, max length 128, best epoch by accuracy), one run per seed; test accuracy
# and macro-F1 land in OUT/loom-seed-S/test_results.json and OUT/loom-results.jsonl.
# usage: scripts/quality/finetune_minilm_rt_loom.sh [OUT_DIR] [SEEDS] [EPOCHS] [extra loom flags…]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/loom-quality-rt}"
seeds="${2:-0,1,2}"
epochs="${3:-3}"
shift $(($# < 3 ? $# : 3))
home="${LOOM_HOME:-$HOME/.cache/loom}"
[ -f "$home/minilm/model.safetensors" ] && [ -f "$home/rotten_tomatoes/test.csv" ] || "$root/scripts/fetch-assets.sh"
loom="$root/.build/release/loom"
[ -x "$loom" ] || (cd "$root" && swift build -c release --product loom)
mkdir -p "$out"
for seed in ${seeds//,/ }; do
  "$loom" train classify --model "$home/minilm" \
    --data "$home/rotten_tomatoes/train.csv" --validation-data "$home/rotten_tomatoes/validation.csv" \
    --test-data "$home/rotten_tomatoes/test.csv" --text-column text --label-column label --max-seq-length 128 \
    --num-train-epochs "$epochs" --per-device-train-batch-size 16 --per-device-eval-batch-size 32 \
    --learning-rate 5e-5 --weight-decay 0.01 --logging-steps 50 --seed "$seed" \
    --overwrite-output-dir --output-dir "$out/loom-seed-$seed" "$@"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r.update(impl="loom", seed=int(sys.argv[2])); print(json.dumps(r))' \
    "$out/loom-seed-$seed/test_results.json" "$seed" | tee -a "$out/loom-results.jsonl"
done
