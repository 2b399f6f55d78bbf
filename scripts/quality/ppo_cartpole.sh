#!/usr/bin/env bash
# Issue 18's CartPole learning check: `loom train ppo --env cartpole` with CleanRL's CartPole settings (the command's
# defaults) until the mean return of the last 100 episodes reaches 475, for a few seeds; prints the step and wall
# time each seed was solved at. Each run's reward_curve.png and metrics.jsonl stay in WORKDIR/seed-S.
# usage: scripts/quality/ppo_cartpole.sh [WORKDIR] [SEEDS…]   (default: /tmp/loom-ppo-cartpole, seeds 1 2 3)
set -euo pipefail
work=${1:-/tmp/loom-ppo-cartpole}
shift || true
seeds=${*:-1 2 3}
loom=${LOOM:-.build/release/loom}
mkdir -p "$work"
for s in $seeds; do
  "$loom" train ppo --env cartpole --seed "$s" --total-timesteps 500000 --target-return 475 \
    --output-dir "$work/seed-$s" --overwrite-output-dir > "$work/seed-$s.log"
  echo "seed $s: $(grep -E '^(solved|done)' "$work/seed-$s.log" | tr '\n' ' ')"
done
