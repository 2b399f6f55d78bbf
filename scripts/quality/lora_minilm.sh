#!/usr/bin/env bash
# LoRA counterpart of finetune_minilm_rt_loom.sh (issue 17's learning evidence): MiniLM on the same
# Rotten Tomatoes 80/10/10 split, an r-R adapter on query,value (the classifier in modules_to_save, as
# PEFT does for SEQ_CLS), 3 epochs, batch 16, lr 1e-3, weight decay 0.01, max length 128, best epoch by
# accuracy. Prints PEFT's trainable-parameters line; test accuracy / macro-F1 land in
# OUT/lora-seed-S/test_results.json and OUT/lora-results.jsonl (compare with bench/results'
# full fine-tuning runs).
# usage: [EPOCHS=3] scripts/quality/lora_minilm.sh [OUT_DIR] [SEEDS] [R] [extra loom flags…]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/loom-quality-rt-lora}"
seeds="${2:-0}"
r="${3:-16}"
epochs="${EPOCHS:-3}"
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
    --learning-rate 1e-3 --weight-decay 0.01 --logging-steps 50 --seed "$seed" \
    --lora-r "$r" --lora-alpha "$((2 * r))" --lora-target-modules query,value \
    --overwrite-output-dir --output-dir "$out/lora-seed-$seed" "$@" | tee "$out/lora-seed-$seed.log"
  trainable="$(grep -m1 '^trainable params' "$out/lora-seed-$seed.log")"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r.update(impl="loom-lora", seed=int(sys.argv[2]), r=int(sys.argv[3]), trainable=sys.argv[4]); print(json.dumps(r))' \
    "$out/lora-seed-$seed/test_results.json" "$seed" "$r" "$trainable" | tee -a "$out/lora-results.jsonl"
done
