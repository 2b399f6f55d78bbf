#!/usr/bin/env python3
"""How plausible a wolfBERTa's fill-mask is on C it never saw, read through transformers.

Loads the model directory that `loom train mlm` wrote (scripts/quality/wolfberta_pretrain.sh) with
`AutoModelForMaskedLM` / `AutoTokenizer`, so it also checks that the files load in HF. The held-out code
(wolfSSL's example programs) is tokenised line by line with <s> … </s>, concatenated and cut into blocks of 128;
15 % of the ordinary tokens of each block are replaced by <mask> (seeded), and the model's top-1 / top-5
predictions are scored against the true tokens. The baseline is the best context-free guess: the training
text's most frequent tokens. Scores are also given for identifier tokens alone (those with a letter), where
guessing by frequency is hopeless and a right answer needs the surrounding code. Finally the fill-mask
pipeline answers hand-picked held-out lines.

usage: wolfberta_heldout_eval.py OUT_DIR [--blocks 300]   (OUT_DIR holds run/, tok/, train.txt, heldout.c)
Prints JSON lines.
"""
import argparse
import collections
import json
import os
import re

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, pipeline

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--blocks", type=int, default=300)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
torch.manual_seed(a.seed)
tok = AutoTokenizer.from_pretrained(os.path.join(a.out, "run"))
model = AutoModelForMaskedLM.from_pretrained(os.path.join(a.out, "run")).eval()
special = set(tok.all_special_ids)


def lines(path):
    return [l for l in open(path, encoding="utf-8", errors="replace").read().split("\n") if l.strip()]


counts = collections.Counter(t for e in tok(lines(os.path.join(a.out, "train.txt")))["input_ids"] for t in e)
frequent = [t for t, _ in counts.most_common() if t not in special][:5]
ids = [t for e in tok(lines(os.path.join(a.out, "heldout.c")))["input_ids"] for t in e]
blocks = [ids[i:i + 128] for i in range(0, len(ids) - 127, 128)]
step = max(1, len(blocks) // a.blocks)
blocks = blocks[::step][:a.blocks]
is_word = {}


def word(t):
    if t not in is_word:
        is_word[t] = re.search(r"[A-Za-z]", tok.convert_ids_to_tokens(t)) is not None
    return is_word[t]


score = collections.defaultdict(int)
with torch.no_grad():
    for block in blocks:
        x = torch.tensor([block])
        candidates = torch.tensor([t not in special for t in block])
        chosen = (torch.rand(len(block)) < 0.15) & candidates
        if not chosen.any():
            continue
        truth = x[0, chosen].tolist()
        x[0, chosen] = tok.mask_token_id
        top5 = model(input_ids=x).logits[0, chosen].topk(5, dim=-1).indices.tolist()
        for t, guess in zip(truth, top5):
            for group in ("all", "identifiers") if word(t) else ("all",):
                score[group, "n"] += 1
                score[group, "top1"] += t == guess[0]
                score[group, "top5"] += t in guess
                score[group, "frequent_top1"] += t == frequent[0]
                score[group, "frequent_top5"] += t in frequent
for group in ("all", "identifiers"):
    n = score[group, "n"]
    print(json.dumps({"masked": group, "tokens": n, "blocks": len(blocks),
                      **{k: round(score[group, k] / n, 4) for k in ("top1", "top5", "frequent_top1", "frequent_top5")}}))

fill = pipeline("fill-mask", model=model, tokenizer=tok, top_k=5)
# Lines of the held-out examples with one token masked; the true token follows `#`.
probes = [
    ("#include <wolfssl/<mask>.h>", "ssl"),
    ("    XMEMSET(tmpBuf, 0, <mask>(tmpBuf));", "sizeof"),
    ("        if (ret != <mask>) {", "WOLFSSL_SUCCESS"),
    ("    wolfSSL_free(<mask>); ssl = NULL;", "ssl"),
    ("    ctx = wolfSSL_CTX_new(<mask>);", "wolfTLSv1_2_client_method()"),
    ("        return <mask>;", "ret"),
    ("    for (i = 0; i < <mask>; i++) {", "len"),
    ("    if ((ssl = wolfSSL_new(<mask>)) == NULL) {", "ctx"),
    ('        fprintf(<mask>, "ERROR: failed to create WOLFSSL object\\n");', "stderr"),
    ("    wolfSSL_CTX_free(<mask>);", "ctx"),
]
for text, truth in probes:
    out = fill(text.replace("<mask>", tok.mask_token))
    print(json.dumps({"text": text, "truth": truth, "top5": [[c["token_str"], round(c["score"], 3)] for c in out]}))
