#!/usr/bin/env bash
# A small RoBERTa pretrained from scratch on wolfSSL's C sources, the seeds' wolfBERTa recipe at a
# size a CPU trains in an hour: a byte-level BPE tokenizer (vocab 52,000 asked, min_frequency 2,
# <s> <pad> </s> <unk> <mask>) and `loom train mlm` on the library's own code — Debian's wolfssl
# source package (src/, wolfcrypt/src/, the tests; the generated sp_*/ge_*/fe_* arithmetic left out)
# plus the libwolfssl-dev headers —, evaluated on code it never saw (the package's example
# programs, --validation-data), then `loom fill-mask` on held-out lines. The training and
# evaluation losses land in OUT/run/metrics.jsonl, the probes in OUT/fill-mask.jsonl;
# scripts/quality/wolfberta_heldout_eval.py scores the model on held-out code through transformers.
# The source package comes from `apt-get source wolfssl` (needs a deb-src line for bookworm) or
# WOLFSSL_SRC=DIR (an unpacked wolfssl-5.5.4-stable); WOLFSSL_SRC=none trains on the headers alone
# (session 9's 1.8 MB corpus).
# usage: scripts/quality/wolfberta_pretrain.sh [OUT_DIR] [EPOCHS] [extra loom train mlm flags…]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/loom-wolfberta}"
epochs="${2:-4}"
shift $(($# < 2 ? $# : 2))
loom="$root/.build/release/loom"
[ -x "$loom" ] || (cd "$root" && swift build -c release --product loom)
[ -d /usr/include/wolfssl ] || { echo "needs libwolfssl-dev (apt-get install libwolfssl-dev)" >&2; exit 1; }
mkdir -p "$out"
# Lines that are only hex byte literals (DER certificates and keys embedded as C arrays, most of
# certs_test.h) are dropped: they were half of the tokens, and a model trained on them learns to
# predict `0x` and `,` instead of C.
src="${WOLFSSL_SRC:-}"
if [ -z "$src" ]; then
  mkdir -p "$out/src"
  # --download-only, then tar: unpacking through dpkg-source would need dpkg-dev.
  (cd "$out/src" && { ls -d wolfssl-*/ >/dev/null 2>&1 ||
    { apt-get source --download-only -qq wolfssl >/dev/null && tar xzf wolfssl_*.orig.tar.gz; }; }) || {
    echo "apt-get source wolfssl failed: add a deb-src line for bookworm, or set WOLFSSL_SRC=DIR (or none)" >&2
    exit 1
  }
  src="$(ls -d "$out"/src/wolfssl-*/ | head -1)"
fi
sources=()
if [ "$src" != none ]; then
  # The library's hand-written C: the generated multi-precision and curve arithmetic (megabytes of
  # unrolled assembly-like code) and the example programs (held out below) are left out.
  mapfile -t sources < <(cd "$src" && ls src/*.c wolfcrypt/src/*.c wolfcrypt/test/*.c tests/*.c |
    grep -v -E '/(sp_(arm|x86|c32|c64|cortexm|dsp)|ge_|fe_)' | LC_ALL=C sort | sed "s|^|$src/|")
fi
{ find /usr/include/wolfssl /usr/include/cyassl -name '*.h' | LC_ALL=C sort | xargs cat; cat "${sources[@]}" /dev/null; } |
  grep -v -E '^[[:space:]]*((0x[0-9A-Fa-f]+|[0-9]+)[UuLl]*,?[[:space:]]*)+$' > "$out/train.txt"
cat /usr/share/doc/libwolfssl-dev/examples/*.c > "$out/heldout.c"
"$loom" tokenizer train --files "$out/train.txt" --vocab-size 52000 --min-frequency 2 \
  --special-tokens "<s>,<pad>,</s>,<unk>,<mask>" --model-type roberta --output "$out/tok" --quiet
vocab=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/tok/vocab.json")
cat > "$out/config.json" <<JSON
{"model_type": "roberta", "architectures": ["RobertaForMaskedLM"], "vocab_size": $vocab, "hidden_size": 256,
 "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024, "max_position_embeddings": 130,
 "type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "layer_norm_eps": 1e-5,
 "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02}
JSON
"$loom" train mlm --data "$out/train.txt" --validation-data "$out/heldout.c" --tokenizer "$out/tok" \
  --config "$out/config.json" --max-seq-length 128 --num-train-epochs "$epochs" --batch-size 16 \
  --learning-rate 5e-4 --warmup-ratio 0.06 --weight-decay 0.01 --logging-steps 25 --eval-strategy epoch \
  --seed 0 --output-dir "$out/run" --overwrite-output-dir "$@"
# Lines of the held-out examples with one token masked (the true token in the comment).
probes=(
  '#include <wolfssl/<mask>.h>'                 # ssl / options / test
  '    XMEMSET(tmpBuf, 0, <mask>(tmpBuf));'        # sizeof
  '        if (ret != <mask>) {'                   # WOLFSSL_SUCCESS
  '    wolfSSL_free(<mask>); ssl = NULL;'          # ssl
  '    ctx = wolfSSL_CTX_new(<mask>);'             # a method constructor
  '        return <mask>;'                         # 0 / ret
)
: > "$out/fill-mask.jsonl"
for p in "${probes[@]}"; do
  "$loom" fill-mask --model "$out/run" --text "$p" --top-k 5 |
    python3 -c 'import json,sys; c=[json.loads(l) for l in sys.stdin if l.strip()]; print(json.dumps({"text": sys.argv[1], "top5": [[x["token_str"], round(x["score"], 3)] for x in c]}))' "$p" |
    tee -a "$out/fill-mask.jsonl"
done
