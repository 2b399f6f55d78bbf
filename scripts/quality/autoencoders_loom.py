#!/usr/bin/env python3
"""Loom's side of the autoencoder quality comparison: runs `loom train ae` and `loom train vae`
for several seeds with the settings of scripts/quality/autoencoders_torch.py (AE: batch 32, Adam
lr 1e-3, weight decay 1e-8; VAE: latent 20, batch 128, Adam lr 1e-3; 10 epochs), collects the
test metrics per epoch from each run's metrics.jsonl, and compares the means with PyTorch's
results file when present.

Usage: python3 scripts/quality/autoencoders_loom.py [--model ae|vae|all] [--epochs 10] [--seeds 0-4]
       [--loom .build/release/loom] [--out bench/results/autoencoders-quality-loom.json]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def seeds(text):
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def run(loom, model, seed, epochs, workdir):
    out = os.path.join(workdir, f"{model}-{seed}")
    cmd = [loom, "train", model, "--epochs", str(epochs), "--seed", str(seed), "--output-dir", out, "--overwrite-output-dir"]
    t0 = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    key = "test_loss"
    print(f"{model} seed {seed}: test {key} per epoch {[round(r[key], 5) for r in rows]} ({time.time() - t0:.0f} s)", flush=True)
    return {"seed": seed, "per_epoch": rows, "final": rows[-1][key], "seconds": time.time() - t0}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="all", choices=["ae", "vae", "all"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--loom", default=str(ROOT / ".build/release/loom"))
    p.add_argument("--out", default=str(ROOT / "bench/results/autoencoders-quality-loom.json"))
    p.add_argument("--torch-results", default=str(ROOT / "bench/results/autoencoders-quality-torch.json"))
    a = p.parse_args()
    models = ["ae", "vae"] if a.model == "all" else [a.model]
    result = {"epochs": a.epochs, "seeds": seeds(a.seeds), "models": {}}
    with tempfile.TemporaryDirectory() as work:
        for m in models:
            runs = [run(a.loom, m, s, a.epochs, work) for s in seeds(a.seeds)]
            finals = [r["final"] for r in runs]
            result["models"][m] = {
                "metric": "test MSE" if m == "ae" else "test −ELBO per image",
                "runs": runs, "mean": statistics.mean(finals),
                "std": statistics.stdev(finals) if len(finals) > 1 else 0.0,
                "min": min(finals), "max": max(finals)}
    pathlib.Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    if os.path.exists(a.torch_results):
        torch = json.load(open(a.torch_results))
        for m in models:
            ours = result["models"][m]
            theirs = torch.get(m)
            if not theirs:
                continue
            summary = theirs["final_test_mse" if m == "ae" else "final_test_neg_elbo"]
            tm = summary["mean"]
            print(f"{m}: loom {ours['mean']:.5f} ± {ours['std']:.5f} (min {ours['min']:.5f}, max {ours['max']:.5f}) "
                  f"vs torch {tm:.5f} ± {summary['std']:.5f}: {100 * (ours['mean'] / tm - 1):+.2f}%")


if __name__ == "__main__":
    main()
