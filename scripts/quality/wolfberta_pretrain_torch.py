#!/usr/bin/env python3
"""The first steps of scripts/quality/wolfberta_pretrain.sh's recipe in PyTorch + transformers, to compare the
loss curves: the same tokenizer, config.json and blocks (each line tokenised with <s> … </s>, concatenated, cut
into blocks of 128, shuffled with a fixed seed), DataCollatorForLanguageModeling(mlm_probability=0.15), AdamW
(lr 5e-4, weight decay 0.01 except biases and LayerNorm), linear schedule with 6 % warmup over the run's total
steps, batch 16, gradient clipping 1.0. Prints the mean training loss every 25 steps as JSON lines.

usage: wolfberta_pretrain_torch.py OUT_DIR_OF_THE_SCRIPT [--epochs 2] [--stop-at STEPS]
"""
import argparse
import json
import math
import os
import random

import torch
from transformers import (AutoTokenizer, DataCollatorForLanguageModeling, RobertaConfig, RobertaForMaskedLM,
                          get_linear_schedule_with_warmup)

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--epochs", type=float, default=2)
p.add_argument("--stop-at", type=int, default=0)
a = p.parse_args()
torch.manual_seed(0)
random.seed(0)
tok = AutoTokenizer.from_pretrained(os.path.join(a.out, "tok"))
config = RobertaConfig.from_json_file(os.path.join(a.out, "config.json"))
model = RobertaForMaskedLM(config)
lines = [l for l in open(os.path.join(a.out, "train.txt"), encoding="utf-8").read().split("\n") if l.strip()]
ids = [t for e in tok(lines)["input_ids"] for t in e]
blocks = [ids[i:i + 128] for i in range(0, len(ids) - 127, 128)]
steps_per_epoch = math.ceil(len(blocks) / 16)
total = int(steps_per_epoch * a.epochs)
decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
rest = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=5e-4)
sched = get_linear_schedule_with_warmup(opt, math.ceil(0.06 * total), total)
collate = DataCollatorForLanguageModeling(tok, mlm_probability=0.15)
model.train()
step, window = 0, []
while step < total:
    order = list(range(len(blocks)))
    random.shuffle(order)
    for k in range(0, len(order), 16):
        batch = collate([{"input_ids": blocks[i]} for i in order[k:k + 16]])
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        step += 1
        window.append(loss.item())
        if step % 25 == 0:
            print(json.dumps({"step": step, "loss": round(sum(window) / len(window), 4)}), flush=True)
            window = []
        if step >= total or (a.stop_at and step >= a.stop_at):
            raise SystemExit(0)
