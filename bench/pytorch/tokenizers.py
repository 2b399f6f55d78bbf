#!/usr/bin/env python3
"""HF tokenizers side of `loom-bench tokenizers`: same corpus, same workloads, same JSON lines.

Corpus: >= 10 MB of real C code from Debian -dev packages (wolfSSL, OpenSSL, Linux UAPI,
glibc, SQLite, zlib headers). Workloads: byte-level BPE training (vocab 52000,
min_frequency 2) and encode throughput for a batch of lines and for whole files.
"""
import json
import os
import sys
import tempfile
import time
from statistics import median

# This file is named like the package it measures: keep its folder off the import path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
from tokenizers import ByteLevelBPETokenizer  # noqa: E402

ROOTS = ["/usr/include/wolfssl", "/usr/include/cyassl", "/usr/share/doc/libwolfssl-dev/examples",
         "/usr/include/openssl", "/usr/include/linux", "/usr/include/x86_64-linux-gnu"]
SINGLES = ["/usr/include/sqlite3.h", "/usr/include/sqlite3ext.h", "/usr/include/zlib.h", "/usr/include/zconf.h"]
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def corpus():
    files = sorted(os.path.join(d, f) for r in ROOTS for d, _, fs in os.walk(r) for f in fs
                   if f.endswith((".h", ".c")) and not os.path.islink(os.path.join(d, f)))
    return files + [f for f in SINGLES if os.path.exists(f)]


def emit(bench, config, value, unit, **extra):
    print(json.dumps({"suite": "tokenizers", "bench": bench, "config": config, "value": value,
                      "unit": unit, "impl": "hf-tokenizers", **extra}, sort_keys=True), flush=True)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    files = corpus()
    texts = [open(f, encoding="utf-8", errors="replace").read() for f in files]
    nbytes = sum(len(t.encode()) for t in texts)
    mb = nbytes / 1e6
    config = f"{len(files)} C files, {mb:.1f} MB"
    times = []
    for _ in range(reps):
        tok = ByteLevelBPETokenizer()
        t0 = time.perf_counter()
        tok.train(files, vocab_size=52000, min_frequency=2, special_tokens=SPECIALS, show_progress=False)
        times.append(time.perf_counter() - t0)
    emit("train_bpe", config + ", vocab 52000, min_frequency 2", median(times), "s",
         vocab=tok.get_vocab_size(), runs=times)
    with tempfile.TemporaryDirectory() as d:
        tok.save_model(d)
        tok = ByteLevelBPETokenizer(f"{d}/vocab.json", f"{d}/merges.txt")
    lines = [l for t in texts for l in t.split("\n")]
    for name, batch in (("encode_lines", lines), ("encode_files", texts)):
        times = []
        ntok = 0
        for _ in range(reps):
            t0 = time.perf_counter()
            enc = tok.encode_batch(batch)
            times.append(time.perf_counter() - t0)
            ntok = sum(len(e.ids) for e in enc)
        emit(name, config + f", batch of {len(batch)}", mb / median(times), "MB/s", tokens=ntok,
             seconds=median(times))
        # Ids only (HF's encode_batch_fast skips offsets), against loom's `<name>_ids`.
        fast = getattr(tok._tokenizer, "encode_batch_fast", None)
        if fast is not None:
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                enc = fast(batch)
                times.append(time.perf_counter() - t0)
            emit(name + "_ids", config + f", batch of {len(batch)}, ids only", mb / median(times), "MB/s",
                 tokens=sum(len(e.ids) for e in enc), seconds=median(times))


if __name__ == "__main__":
    main()
