#!/usr/bin/env bash
# Distillation on Rotten Tomatoes (issue 18's learning evidence): the teacher is MiniLM fine-tuned by
# `loom train classify` (scripts/quality/finetune_minilm_rt_loom.sh, seed 0); the student is the teacher's
# embeddings, head and every other layer (--student-from-teacher-layers). Per seed the same student is trained
# twice with the same settings: distilled (α 0.5, T 4: CE + KL to the teacher) and on labels alone (α 1: the KL
# term weighs 0). Test accuracy per run lands in OUT/distill-results.jsonl, then mean ± std per arm.
# usage: scripts/quality/distill_rt.sh [OUT_DIR] [SEEDS] [EPOCHS] [extra loom flags…]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/loom-quality-distill}"
seeds="${2:-0,1,2}"
epochs="${3:-3}"
shift $(($# < 3 ? $# : 3))
home="${LOOM_HOME:-$HOME/.cache/loom}"
[ -f "$home/minilm/model.safetensors" ] && [ -f "$home/rotten_tomatoes/test.csv" ] || "$root/scripts/fetch-assets.sh"
loom="$root/.build/release/loom"
[ -x "$loom" ] || (cd "$root" && swift build -c release --product loom)
mkdir -p "$out"
teacher="$out/teacher"
if [ ! -f "$teacher/model.safetensors" ]; then
  "$root/scripts/quality/finetune_minilm_rt_loom.sh" "$out/teacher-runs" 0 "$epochs"
  rm -rf "$teacher" && cp -r "$out/teacher-runs/loom-seed-0" "$teacher"
fi
rm -f "$out/distill-results.jsonl"
for seed in ${seeds//,/ }; do
  for arm in distilled:0.5 labels:1.0; do
    name="${arm%%:*}" alpha="${arm##*:}"
    "$loom" train distill --teacher "$teacher" --student-from-teacher-layers --task classify \
      --data "$home/rotten_tomatoes/train.csv" --validation-data "$home/rotten_tomatoes/validation.csv" \
      --test-data "$home/rotten_tomatoes/test.csv" --text-column text --label-column label --max-seq-length 128 \
      --alpha "$alpha" --temperature 4 --num-train-epochs "$epochs" --per-device-train-batch-size 16 \
      --learning-rate 5e-5 --weight-decay 0.01 --logging-steps 50 --seed "$seed" \
      --overwrite-output-dir --output-dir "$out/$name-seed-$seed" "$@"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r.update(arm=sys.argv[2], seed=int(sys.argv[3])); print(json.dumps(r))' \
      "$out/$name-seed-$seed/test_results.json" "$name" "$seed" | tee -a "$out/distill-results.jsonl"
  done
done
python3 - "$out/distill-results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for arm in ("distilled", "labels"):
    acc = [r["test_accuracy"] for r in rows if r["arm"] == arm]
    spread = statistics.stdev(acc) if len(acc) > 1 else 0.0
    print(f"{arm:9s} test accuracy {statistics.mean(acc):.4f} ± {spread:.4f} over {len(acc)} seeds")
PY
