#!/usr/bin/env python3
"""Loom's Unigram trainer against HF's UnigramTrainer (issue 15).

Trains HF `tokenizers` (Unigram model, Metaspace pre-tokenizer, as `loom tokenizer train --model unigram`
does) on the same files, loads Loom's tokenizer.json with HF, and prints vocabulary overlap and the
number of tokens each needs for held-out text.

  python scripts/quality/compare_unigram_trainer.py --loom OUT/tokenizer.json --vocab-size 8000 \
      --special-tokens "<pad>,</s>,<unk>" --unk-token "<unk>" --train A.txt B.txt --heldout C.txt
"""
import argparse
import json
import time

from tokenizers import Tokenizer, pre_tokenizers, decoders
from tokenizers.models import Unigram
from tokenizers.trainers import UnigramTrainer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", required=True)
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--heldout", nargs="+", required=True)
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--special-tokens", default="")
    ap.add_argument("--unk-token", default=None)
    ap.add_argument("--save-hf", default=None)
    a = ap.parse_args()
    specials = [s for s in a.special_tokens.split(",") if s]
    hf = Tokenizer(Unigram())
    hf.pre_tokenizer = pre_tokenizers.Metaspace()
    hf.decoder = decoders.Metaspace()
    t0 = time.time()
    hf.train(a.train, UnigramTrainer(vocab_size=a.vocab_size, special_tokens=specials, unk_token=a.unk_token,
                                     show_progress=False))
    hf_s = time.time() - t0
    if a.save_hf:
        hf.save(a.save_hf)
    loom = Tokenizer.from_file(a.loom)  # HF must load Loom's file
    vh, vl = set(hf.get_vocab()), set(loom.get_vocab())
    lines = [l for f in a.heldout for l in open(f, encoding="utf-8")]
    nh = sum(len(e.ids) for e in hf.encode_batch(lines))
    nl = sum(len(e.ids) for e in loom.encode_batch(lines))
    pairs = list(zip(hf.encode_batch(lines), loom.encode_batch(lines)))
    same = sum(a.ids == b.ids for a, b in pairs)
    same_tokens = sum(a.tokens == b.tokens for a, b in pairs)
    print(json.dumps({
        "hf_vocab": len(vh), "loom_vocab": len(vl), "overlap": len(vh & vl),
        "overlap_pct": round(100 * len(vh & vl) / len(vh), 2),
        "heldout_lines": len(lines), "heldout_chars": sum(map(len, lines)),
        "hf_tokens": nh, "loom_tokens": nl, "loom_vs_hf_pct": round(100 * (nl - nh) / nh, 3),
        "heldout_lines_with_identical_tokens": same_tokens, "heldout_lines_with_identical_ids": same, "hf_train_s": round(hf_s, 2),
    }, indent=1))


if __name__ == "__main__":
    main()
