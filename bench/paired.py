#!/usr/bin/env python3
"""Paired, lockstep comparison of benchmarks: Loom and PyTorch (or any two commands that
speak the lockstep protocol) run side by side, each set up once, and take turns one timed
step at a time (ABBA order, a short pause before each step so the other side's threads are
asleep). Each pair of steps sees the same moment of the machine, so slow phases of a noisy
host (which swing single runs by ±20% here) cancel in the per-pair ratios.

usage: bench/paired.py SUITE BENCH[,BENCH...] [--steps N] [--burst K] [--pause S] [--a CMD] [--b CMD]

  default A: .build/release/loom-bench SUITE      default B: python3 bench/pytorch/SUITE.py
  Both get `--only BENCH --lockstep` appended, one bench at a time. Protocol: the command
  prints `ready` when a timed section (one config of the bench) is set up and warmed up; for
  each `step` line on its standard input it runs one step and prints `step MS`; `stop` ends
  the section (the command prints its usual JSON line and goes on to its next section, if
  any, or exits). A turn is a burst of K steps whose median is the turn's sample: the first
  step after a rest runs on cold caches and sleeping threads, which matters for sub-ms ops.

Prints, per section, each side's median, the ratio B/A of the medians and the median (with
quartiles) of the per-pair ratios B/A: above 1 means A (Loom) is faster. One JSON line per
section follows.
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
        self.records = []

    def _fail(self, why):
        self.proc.kill()
        sys.exit(f"paired: {self.name} ({shlex.join(self.command)}) {why}")

    def next_section(self):
        """Reads up to the next `ready` (True) or the end of the output (False)."""
        for line in self.proc.stdout:
            line = line.strip()
            if line == "ready":
                return True
            if line.startswith("{"):
                self.records.append(json.loads(line))
        if self.proc.wait() != 0:
            self._fail(f"exited with status {self.proc.returncode}")
        return False

    def send(self, word):
        try:
            self.proc.stdin.write(word + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._fail("stopped reading its input")

    def step(self):
        self.send("step")
        for line in self.proc.stdout:
            if line.startswith("step "):
                return float(line.split()[1])
        self._fail(f"ended during a step with status {self.proc.wait()}")


def quartiles(xs):
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return q[0], statistics.median(xs), q[2]


def run_bench(bench, args, a_cmd, b_cmd):
    tail = ["--only", bench, "--lockstep"]
    a, b = Side("A", a_cmd + tail), Side("B", b_cmd + tail)
    results = []
    while True:
        more_a, more_b = a.next_section(), b.next_section()
        if more_a != more_b:
            sys.exit(f"paired: {bench}: the two sides have different numbers of timed sections")
        if not more_a:
            break
        ta, tb = [], []
        for i in range(args.steps):
            for side, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
                time.sleep(args.pause)
                out.append(statistics.median(side.step() for _ in range(args.burst)))
        a.send("stop")
        b.send("stop")
        results.append((ta, tb, len(a.records), len(b.records)))
    for proc in (a.proc, b.proc):
        proc.stdin.close()
    if not results:
        sys.exit(f"paired: no timed sections for {bench!r}: is it a bench of the {args.suite!r} suite?")
    for index, (ta, tb, ra, rb) in enumerate(results):
        # The JSON line a side prints right after a section's `stop` names its config.
        rec_a = a.records[ra] if ra < len(a.records) else {}
        rec_b = b.records[rb] if rb < len(b.records) else {}
        config = rec_a.get("config", f"section {index + 1}")
        ratios = [y / x for x, y in zip(ta, tb)]
        q1, med, q3 = quartiles(ratios)
        ma, mb = statistics.median(ta), statistics.median(tb)
        print(f"{args.suite} {bench} {config}: {len(ta)} lockstep pairs of {args.burst}-step turns")
        print(f"  A median {ma:.3f} ms (min {min(ta):.3f}, max {max(ta):.3f})")
        print(f"  B median {mb:.3f} ms (min {min(tb):.3f}, max {max(tb):.3f})")
        print(f"  ratio of medians B/A {mb / ma:.3f}; per-pair B/A median {med:.3f} (quartiles {q1:.3f} .. {q3:.3f})")
        rss = {k: r["peak_rss_mb"] for k, r in (("a", rec_a), ("b", rec_b)) if "peak_rss_mb" in r}
        if rss:
            print("  peak RSS MiB: " + ", ".join(f"{k.upper()} {v:.1f}" for k, v in rss.items()))
        print(json.dumps({"suite": args.suite, "bench": bench, "config": config, "impl": "paired",
                          "pairs": len(ta), "burst": args.burst, "a_ms": ma, "b_ms": mb, "ratio_of_medians": mb / ma,
                          "pair_ratio_median": med, "pair_ratio_q1": q1, "pair_ratio_q3": q3,
                          **{f"{k}_peak_rss_mb": v for k, v in rss.items()}}, sort_keys=True), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite")
    ap.add_argument("benches", help="bench name(s), comma-separated")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per side and section (default 30)")
    ap.add_argument("--burst", type=int, default=5, help="steps per turn, their median is the sample (default 5)")
    ap.add_argument("--pause", type=float, default=0.05, help="seconds of rest before each step (default 0.05)")
    ap.add_argument("--a", help="command for side A (default: Loom's loom-bench SUITE)")
    ap.add_argument("--b", help="command for side B (default: python3 bench/pytorch/SUITE.py)")
    args = ap.parse_args()
    if args.steps < 1 or args.burst < 1:
        ap.error("--steps and --burst must be at least 1")
    a_cmd = shlex.split(args.a) if args.a else [str(root / ".build/release/loom-bench"), args.suite]
    b_cmd = shlex.split(args.b) if args.b else [sys.executable, str(root / "bench/pytorch" / f"{args.suite}.py")]
    if not args.a and not Path(a_cmd[0]).exists():
        sys.exit(f"paired: {a_cmd[0]} is missing: build it with `swift build -c release --product loom-bench`")
    print(f"A: {shlex.join(a_cmd)}\nB: {shlex.join(b_cmd)}")
    for bench in args.benches.split(","):
        run_bench(bench, args, a_cmd, b_cmd)


if __name__ == "__main__":
    main()
