#!/usr/bin/env python3
"""Scores prompt_tuning_gpt.sh's held-out sentences the way classification-as-generation is scored:
the label whose first character the model finds likelier at the label position (a for ask, t for tell)
is the prediction — restricted choice, so a model that would rather emit a space still gets a verdict.
Also the label word's cross-entropy ("ask" / "tell", summed over its characters). Both with the adapter
and for the base alone. The model and adapter are Loom's files read by transformers and PEFT
(PeftModel.from_pretrained), which is itself a check that Loom writes PEFT's layout.

usage: /work/venv/bin/python scripts/quality/prompt_tuning_score.py WORKDIR [ADAPTER_DIR]
"""
import json
import math
import os
import sys

import torch
from peft import PeftModel
from transformers import GPT2LMHeadModel

work = sys.argv[1]
adapter = sys.argv[2] if len(sys.argv) > 2 else f"{work}/prompt"
chars = json.load(open(f"{work}/base/char_vocab.json"))
index = {c: i for i, c in enumerate(chars)}
examples = json.load(open(f"{work}/eval.json"))


def score(model):
    right, loss = 0, 0.0
    with torch.no_grad():
        for prompt, label in examples:
            ids = torch.tensor([[index[c] for c in prompt + label]])
            logits = model(input_ids=ids).logits[0, -len(ids[0]):]  # PEFT returns the virtual positions too
            logp = torch.log_softmax(logits.float(), dim=-1)
            start = len(prompt)
            loss -= sum(logp[start - 1 + k, index[c]].item() for k, c in enumerate(label))
            a, t = logp[start - 1, index["a"]], logp[start - 1, index["t"]]
            right += ("a" if a > t else "t") == label[0]
    return right / len(examples), loss / len(examples)


base = GPT2LMHeadModel.from_pretrained(f"{work}/base").eval()
base_accuracy, base_loss = score(base)
tuned = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(f"{work}/base"), adapter).eval()
tuned_accuracy, tuned_loss = score(tuned)
n = len(examples)
result = {
    "held_out": n, "restricted_choice_accuracy": {"prompt_tuned": tuned_accuracy, "base": base_accuracy, "chance": 0.5},
    "z_vs_chance": round((tuned_accuracy - 0.5) / math.sqrt(0.25 / n), 2),
    "label_word_loss_nats": {"prompt_tuned": round(tuned_loss, 3), "base": round(base_loss, 3)},
}
print(json.dumps(result))
sys.stdout.flush()
os._exit(0)  # torch's thread pools can hang the exit on a loaded machine
