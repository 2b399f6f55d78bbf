#!/usr/bin/env bash
# Runs `loom-bench SUITE` and `bench/pytorch/SUITE.py` alternately (ROUNDS times, default 3)
# on this machine and prints, per figure, both medians and the ratio in Loom's favour
# (time: torch/loom; throughput: loom/torch). Ratios > 1 mean Loom is faster.
set -euo pipefail
suite="${1:?usage: bench/compare.sh SUITE [extra args]}"
shift || true
rounds="${ROUNDS:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.build/release/loom-bench"
[ -x "$bin" ] || (cd "$root" && swift build -c release --product loom-bench >&2)
out="$(mktemp -d)"
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: loom" >&2
  "$bin" "$suite" "$@" >>"$out/loom.jsonl"
  echo "round $r/$rounds: pytorch" >&2
  python3 "$root/bench/pytorch/$suite.py" "$@" >>"$out/torch.jsonl"
done
python3 - "$out/loom.jsonl" "$out/torch.jsonl" <<'PY'
import json, statistics, sys
from collections import defaultdict

def load(path, reference=False):
    d = defaultdict(list)
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        # The Python side may name its implementation (torch, torch-sdpa, hf-tokenizers, ...);
        # rows without one are the plain torch reference.
        impl = r.get("impl", "torch") if reference else r.get("impl", "")
        d[(r["bench"], r["config"], impl)].append(r)
    return d

loom, torch_ = load(sys.argv[1]), load(sys.argv[2], reference=True)
print(f"{'bench':<16}{'config':<16}{'loom':>12}{'other':>12}{'unit':>10}{'ratio':>8}")
for (bench, config, impl), rows in sorted(loom.items()):
    ours = statistics.median(r["value"] for r in rows)
    unit = rows[0]["unit"]
    if impl == "cblas":
        continue
    refs = {i: rs for (b, c, i), rs in torch_.items() if (b, c) == (bench, config)}
    label = "torch" if "torch" in refs else next(iter(sorted(refs)), "torch")
    ref_rows = refs.pop(label, [])
    if bench == "matmul":
        # The target for matmul is raw CBLAS in the same process.
        ref_rows = loom.get((bench, config, "cblas"), [])
        label = "cblas"
    if not ref_rows:
        print(f"{bench:<16}{config:<16}{ours:>12.3f}{'-':>12}{unit:>10}{'-':>8}")
        continue
    ref = statistics.median(r["value"] for r in ref_rows)
    higher_is_better = unit not in ("ms", "s", "us")
    ratio = ours / ref if higher_is_better else ref / ours
    print(f"{bench:<16}{config:<16}{ours:>12.3f}{ref:>12.3f}{unit:>10}{ratio:>8.2f}  (vs {label})")
    for other, rs in sorted(refs.items()):
        v = statistics.median(r["value"] for r in rs)
        print(f"{'':<16}{'':<16}{ours:>12.3f}{v:>12.3f}{unit:>10}{(ours / v if higher_is_better else v / ours):>8.2f}  (vs {other})")
    if bench == "matmul":
        t = torch_.get((bench, config, "torch"))
        if t:
            tv = statistics.median(r["value"] for r in t)
            print(f"{'':<16}{'':<16}{ours:>12.3f}{tv:>12.3f}{unit:>10}{ours / tv:>8.2f}  (vs torch)")
    extra = [k for k in rows[0] if k.startswith("peak_rss")]
    for k in extra:
        mine = statistics.median(r[k] for r in rows)
        theirs = statistics.median(r[k] for r in ref_rows if k in r) if any(k in r for r in ref_rows) else float("nan")
        print(f"{'':<16}{k:<16}{mine:>12.1f}{theirs:>12.1f}{'MiB':>10}")
PY
