#!/usr/bin/env python3
"""PyTorch reference quality for Loom's autoencoders on Fashion-MNIST.

Trains, per seed, with the same data and hyper-parameters as `loom train ae|vae`:
  ae   the seeds' autoencoder (784-128-64-36-18-9 and back, sigmoid output), MSE loss,
       torch.optim.Adam(lr=1e-3, weight_decay=1e-8), batch 32; reports the test MSE
       (mean over pixels) after every epoch.
  vae  PyTorch's examples/vae (fc1 784→400, fc21/fc22 → 20, fc3, fc4 → 784), loss BCE
       summed over pixels + KL, Adam(lr=1e-3), batch 128; reports the test loss per
       example (negative ELBO, one eps sample per image, as the example does) and its
       reconstruction and KL parts after every epoch.
Images come straight from the IDX gz files of Debian's dataset-fashion-mnist, scaled to
[0, 1] and flattened; each epoch shuffles with a generator seeded by the run's seed.

Usage: python3 scripts/quality/autoencoders_torch.py [--model ae|vae|all] [--epochs 10]
       [--seeds 0-4] [--data-dir DIR] [--out bench/results/autoencoders-quality-torch.json]
"""
import argparse
import gzip
import json
import os
import pathlib
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]


def read_idx(path):
    """An IDX file (gzip or plain) as a numpy array of unsigned bytes."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: magic {magic:#010x} is not an unsigned-byte IDX file")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(dims)):
        raise ValueError(f"{path}: dimensions {dims} need {int(np.prod(dims))} bytes, found {array.size}")
    return array.reshape(dims)


def load_split(directory, prefix):
    def find(stem):
        for name in (f"{prefix}-{stem}-ubyte.gz", f"{prefix}-{stem}-ubyte"):
            if (directory / name).exists():
                return directory / name
        raise FileNotFoundError(f"{directory}/{prefix}-{stem}-ubyte(.gz) not found; apt-get install dataset-fashion-mnist")
    images = read_idx(find("images-idx3"))
    labels = read_idx(find("labels-idx1"))
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


class AE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 36), nn.ReLU(),
            nn.Linear(36, 18), nn.ReLU(), nn.Linear(18, 9))
        self.decoder = nn.Sequential(
            nn.Linear(9, 18), nn.ReLU(), nn.Linear(18, 36), nn.ReLU(), nn.Linear(36, 64), nn.ReLU(),
            nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class VAE(nn.Module):
    def __init__(self, latent=20):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, latent)
        self.fc22 = nn.Linear(400, latent)
        self.fc3 = nn.Linear(latent, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def vae_parts(recon, x, mu, logvar):
    """Summed BCE and KL over the batch (divide by the batch size for per-example values)."""
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce, kl


def batches(n, batch_size, generator):
    perm = torch.randperm(n, generator=generator)
    for i in range(0, n, batch_size):
        yield perm[i:i + batch_size]


def run_ae(seed, epochs, train_x, test_x):
    torch.manual_seed(seed)
    model = AE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-8)
    g = torch.Generator().manual_seed(seed)
    per_epoch, start = [], time.time()
    for epoch in range(epochs):
        model.train()
        for idx in batches(len(train_x), 32, g):
            x = train_x[idx]
            loss = F.mse_loss(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            total = sum(F.mse_loss(model(test_x[i:i + 1000]), test_x[i:i + 1000], reduction="sum").item()
                        for i in range(0, len(test_x), 1000))
        per_epoch.append(total / test_x.numel())
        print(f"ae seed {seed} epoch {epoch + 1}: test MSE {per_epoch[-1]:.6f}", flush=True)
    return {"test_mse_per_epoch": per_epoch, "final_test_mse": per_epoch[-1], "train_seconds": time.time() - start}


def run_vae(seed, epochs, train_x, test_x):
    torch.manual_seed(seed)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    history, start = [], time.time()
    for epoch in range(epochs):
        model.train()
        for idx in batches(len(train_x), 128, g):
            x = train_x[idx]
            recon, mu, logvar = model(x)
            bce, kl = vae_parts(recon, x, mu, logvar)
            loss = (bce + kl) / len(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        recon_sum = kl_sum = 0.0
        with torch.no_grad():
            for i in range(0, len(test_x), 1000):
                x = test_x[i:i + 1000]
                recon, mu, logvar = model(x)
                bce, kl = vae_parts(recon, x, mu, logvar)
                recon_sum += bce.item()
                kl_sum += kl.item()
        n = len(test_x)
        history.append({"recon": recon_sum / n, "kl": kl_sum / n, "neg_elbo": (recon_sum + kl_sum) / n})
        print(f"vae seed {seed} epoch {epoch + 1}: test loss (−ELBO) {history[-1]['neg_elbo']:.3f} "
              f"(recon {history[-1]['recon']:.3f}, KL {history[-1]['kl']:.3f})", flush=True)
    return {
        "test_neg_elbo_per_epoch": [h["neg_elbo"] for h in history],
        "test_recon_per_epoch": [h["recon"] for h in history],
        "test_kl_per_epoch": [h["kl"] for h in history],
        "final_test_neg_elbo": history[-1]["neg_elbo"],
        "train_seconds": time.time() - start,
    }


def summary(runs, key):
    finals = [r[key] for r in runs.values()]
    return {"mean": statistics.fmean(finals), "std": statistics.stdev(finals) if len(finals) > 1 else 0.0, "n": len(finals)}


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            seeds += list(range(int(a), int(b) + 1))
        else:
            seeds.append(int(part))
    return seeds


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["ae", "vae", "all"], default="all")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,2")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", default=str(ROOT / "bench/results/autoencoders-quality-torch.json"))
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    seeds = parse_seeds(args.seeds)
    data = pathlib.Path(args.data_dir)
    train_x, _ = load_split(data, "train")
    test_x, _ = load_split(data, "t10k")
    result = {
        "dataset": "Fashion-MNIST (60,000 train / 10,000 test), pixels / 255, flattened",
        "epochs": args.epochs,
        "seeds": seeds,
        "environment": {"torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
                        "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
    }
    if args.model in ("ae", "all"):
        runs = {str(s): run_ae(s, args.epochs, train_x, test_x) for s in seeds}
        result["ae"] = {
            "config": {"model": "784-128-64-36-18-9 MLP autoencoder, sigmoid output", "loss": "MSE (mean)",
                       "optimizer": "Adam(lr=1e-3, weight_decay=1e-8)", "batch_size": 32},
            "runs": runs, "final_test_mse": summary(runs, "final_test_mse")}
    if args.model in ("vae", "all"):
        runs = {str(s): run_vae(s, args.epochs, train_x, test_x) for s in seeds}
        result["vae"] = {
            "config": {"model": "examples/vae MLP (400 hidden, latent 20)", "loss": "BCE (sum over pixels) + KL, per example",
                       "optimizer": "Adam(lr=1e-3)", "batch_size": 128},
            "runs": runs, "final_test_neg_elbo": summary(runs, "final_test_neg_elbo")}
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
