#!/usr/bin/env python3
"""Paired, lockstep comparison of one benchmark: Loom and PyTorch (or any two commands that
speak the lockstep protocol) run side by side, each set up once, and take turns one timed
step at a time (ABBA order, a short pause before each step so the other side's threads are
asleep). Each pair of steps sees the same moment of the machine, so slow phases of a noisy
host (which swing single runs by ±20% here) cancel in the per-pair ratios.

usage: bench/paired.py SUITE BENCH [--steps N] [--pause S] [--a CMD] [--b CMD]

  default A: .build/release/loom-bench SUITE      default B: python3 bench/pytorch/SUITE.py
  Both get `--only BENCH --lockstep` appended. Protocol: the command prints `ready` after its
  set-up and warm-up; for each `step` line on its standard input it runs one step and prints
  `step MS`; on `stop` it prints its usual JSON line(s) and exits.

Prints each side's median, the ratio B/A of the medians and the median (with quartiles) of
the per-pair ratios B/A: above 1 means A (Loom) is faster. Ends with one JSON line.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

root = Path(__file__).resolve().parent.parent


class Side:
    def __init__(self, name, command):
        self.name = name
        self.command = command
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.steps = []
        self.records = []
        self._expect("ready")

    def _readline(self):
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            sys.exit(f"paired: {self.name} ({shlex.join(self.command)}) ended early with status {code}")
        return line.strip()

    def _expect(self, word):
        while True:
            line = self._readline()
            if line == word:
                return
            if line.startswith("{"):
                self.records.append(json.loads(line))

    def step(self):
        self.proc.stdin.write("step\n")
        self.proc.stdin.flush()
        while True:
            line = self._readline()
            if line.startswith("step "):
                self.steps.append(float(line.split()[1]))
                return

    def stop(self):
        self.proc.stdin.write("stop\n")
        self.proc.stdin.close()
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.records.append(json.loads(line))
        if self.proc.wait() != 0:
            sys.exit(f"paired: {self.name} exited with status {self.proc.returncode}")


def quartiles(xs):
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return q[0], statistics.median(xs), q[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite")
    ap.add_argument("bench")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per side (default 30)")
    ap.add_argument("--pause", type=float, default=0.05, help="seconds of rest before each step (default 0.05)")
    ap.add_argument("--a", help="command for side A (default: Loom's loom-bench SUITE)")
    ap.add_argument("--b", help="command for side B (default: python3 bench/pytorch/SUITE.py)")
    args = ap.parse_args()
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    tail = ["--only", args.bench, "--lockstep"]
    a_cmd = shlex.split(args.a) if args.a else [str(root / ".build/release/loom-bench"), args.suite]
    b_cmd = shlex.split(args.b) if args.b else [sys.executable, str(root / "bench/pytorch" / f"{args.suite}.py")]
    if not args.a and not Path(a_cmd[0]).exists():
        sys.exit(f"paired: {a_cmd[0]} is missing: build it with `swift build -c release --product loom-bench`")
    a = Side("A", a_cmd + tail)
    b = Side("B", b_cmd + tail)
    for i in range(args.steps):
        for side in (a, b) if i % 2 == 0 else (b, a):
            time.sleep(args.pause)
            side.step()
    a.stop()
    b.stop()

    ratios = [tb / ta for ta, tb in zip(a.steps, b.steps)]
    q1, med, q3 = quartiles(ratios)
    ma, mb = statistics.median(a.steps), statistics.median(b.steps)
    print(f"{args.suite} {args.bench}: {args.steps} lockstep pairs")
    print(f"  A {shlex.join(a_cmd)}: median {ma:.3f} ms (min {min(a.steps):.3f}, max {max(a.steps):.3f})")
    print(f"  B {shlex.join(b_cmd)}: median {mb:.3f} ms (min {min(b.steps):.3f}, max {max(b.steps):.3f})")
    print(f"  ratio of medians B/A {mb / ma:.3f}; per-pair B/A median {med:.3f} (quartiles {q1:.3f} .. {q3:.3f})")
    rss = {}
    for side, key in ((a, "a"), (b, "b")):
        for r in side.records:
            if "peak_rss_mb" in r:
                rss[key] = r["peak_rss_mb"]
    if rss:
        print("  peak RSS MiB: " + ", ".join(f"{k.upper()} {v:.1f}" for k, v in rss.items()))
    print(json.dumps({"suite": args.suite, "bench": args.bench, "impl": "paired", "pairs": args.steps,
                      "a_ms": ma, "b_ms": mb, "ratio_of_medians": mb / ma, "pair_ratio_median": med,
                      "pair_ratio_q1": q1, "pair_ratio_q3": q3,
                      **{f"{k}_peak_rss_mb": v for k, v in rss.items()}}, sort_keys=True))


if __name__ == "__main__":
    main()
