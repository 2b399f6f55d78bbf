"""BART denoising on Shakespeare with `loom train seq2seq` (issue 15's learning evidence).

    LOOM=.build/release/loom /work/venv/bin/python scripts/quality/bart_denoising.py [--max-steps 1500]

1. a byte-level BPE tokenizer (vocabulary 4000, BART's special tokens) from the plays,
2. a bart-tiny model trained by text infilling + sentence permutation (the BART paper's defaults) on
   one core, blocks of whole lines of up to 64 tokens, 5 % of the blocks held out,
3. Loom's greedy reconstruction of 200 corrupted held-out blocks, scored against the corrupted input
   itself (token accuracy = 1 − token edit distance / original length),
4. the output directory loaded by transformers' AutoModelForSeq2SeqLM / AutoTokenizer, whose greedy
   `generate` on the first corrupted example is compared with Loom's.
Appends one JSON line to bench/results/session10-bart-denoising.jsonl.
"""
import argparse
import glob
import json
import os
import subprocess
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--max-steps", type=int, default=1500)
    p.add_argument("--work", default="/tmp/loom-bart-denoising")
    p.add_argument("--plays", type=int, default=12, help="how many plays (alphabetical) to train on")
    p.add_argument("--copy-steps", type=int, default=0,
                   help="first train this many steps with no noise (mask ratio 0: learn to copy), then denoise from "
                        "that model; the held-out blocks are the same in both runs (same data, split and seed)")
    p.add_argument("--dropout", type=float, default=None,
                   help="bart-tiny with this dropout (a config.json); a tiny BART with dropout 0.1 does not learn to "
                        "copy in 15,000 steps, with 0 it copies after ~1,000 (HF's BART in PyTorch alike)")
    a, extra = p.parse_known_args()  # anything else goes to `loom train seq2seq` (e.g. --permute-sentence-ratio 0)
    loom = os.environ.get("LOOM", os.path.join(ROOT, ".build/release/loom"))
    os.makedirs(a.work, exist_ok=True)
    plays = sorted(glob.glob(os.path.expanduser("~/.cache/loom/shakespeare/*.txt")))[: a.plays]
    env = dict(os.environ, LOOM_NUM_THREADS="1")
    tok = os.path.join(a.work, "tokenizer")
    subprocess.run(
        [loom, "tokenizer", "train", "--files", *plays, "--vocab-size", "4000", "--special-tokens",
         "<s>,<pad>,</s>,<unk>,<mask>", "--model-type", "roberta", "--output", tok, "--quiet"],
        check=True, env=env)
    out = os.path.join(a.work, "model")
    shape = ["--preset", "bart-tiny"]
    if a.dropout is not None:
        config = {"model_type": "bart", "d_model": 128, "encoder_layers": 2, "decoder_layers": 2,
                  "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 512,
                  "decoder_ffn_dim": 512, "max_position_embeddings": 256, "dropout": a.dropout}
        shape = ["--config", os.path.join(a.work, "bart-tiny.json")]
        json.dump(config, open(shape[1], "w"))
    start = time.time()
    if a.copy_steps > 0:
        copy = os.path.join(a.work, "copy")
        subprocess.run(
            [loom, "train", "seq2seq", "--data", *plays, "--objective", "denoising", "--tokenizer", tok, *shape,
             "--max-source-length", "64", "--max-steps", str(a.copy_steps), "--batch-size", "16", "--lr", "5e-4",
             "--warmup-steps", "100", "--weight-decay", "0.01", "--logging-steps", "50", "--eval-strategy", "no",
             "--save-strategy", "no", "--validation-split", "0.05", "--output-dir", copy, "--overwrite-output-dir",
             "--seed", "1", *extra, "--mask-ratio", "0", "--random-ratio", "0", "--permute-sentence-ratio", "0"],
            check=True, env=env, capture_output=True, text=True)
        shape = ["--model", copy]
    run = subprocess.run(
        [loom, "train", "seq2seq", "--data", *plays, "--objective", "denoising", "--tokenizer", tok,
         *shape, "--max-source-length", "64", "--max-steps", str(a.max_steps),
         "--batch-size", "16", "--lr", "5e-4", "--warmup-steps", "100", "--weight-decay", "0.01",
         "--logging-steps", "50", "--eval-strategy", "no", "--save-strategy", "no", "--validation-split", "0.05",
         "--reconstruction-examples", "200", "--output-dir", out, "--overwrite-output-dir", "--seed", "1", *extra],
        check=True, env=env, capture_output=True, text=True)
    seconds = time.time() - start
    print(run.stdout)
    logs = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if '"loss"' in l]
    losses = [l["loss"] for l in logs if "loss" in l and l.get("loss") is not None]
    rec = json.load(open(os.path.join(out, "reconstruction.json")))

    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model = AutoModelForSeq2SeqLM.from_pretrained(out).eval()
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = rec["sample_ids"]
    with torch.no_grad():
        hf = model.generate(
            torch.tensor([ids["corrupted"]]), max_new_tokens=len(ids["original"]) + 4, num_beams=1,
            do_sample=False)[0].tolist()
    loom_ids = ids["reconstruction"]
    while loom_ids and loom_ids[-1] == tokenizer.pad_token_id:  # Loom pads after </s>; generate stops there
        loom_ids = loom_ids[:-1]
    result = {
        "task": "bart denoising, shakespeare", "date": time.strftime("%Y-%m-%d"), "steps": a.max_steps,
        "preset": "bart-tiny", "dropout": a.dropout, "copy_steps": a.copy_steps, "plays": len(plays), "extra_flags": extra, "threads": 1, "seconds": round(seconds, 1),
        "first_losses": losses[:3], "last_losses": losses[-3:],
        "heldout_examples": rec["examples"],
        "corrupted_token_accuracy": rec["corrupted_token_accuracy"],
        "reconstruction_token_accuracy": rec["reconstruction_token_accuracy"],
        "corrupted_exact_match": rec["corrupted_exact_match"],
        "reconstruction_exact_match": rec["reconstruction_exact_match"],
        "transformers_loads": type(model).__name__,
        "transformers_greedy_equals_loom": hf == loom_ids,
        "sample": rec["sample"], "transformers_sample": tokenizer.decode(hf),
    }
    print(json.dumps(result, indent=1))
    with open(os.path.join(ROOT, "bench/results/session10-bart-denoising.jsonl"), "a") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
