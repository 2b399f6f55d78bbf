#!/usr/bin/env bash
# A small RoBERTa pretrained from scratch on wolfSSL's C sources (Debian libwolfssl-dev), the seeds'
# wolfBERTa recipe at a size a CPU trains in minutes: a byte-level BPE tokenizer (vocab 52,000 asked,
# min_frequency 2, <s> <pad> </s> <unk> <mask>) and `loom train mlm` on the headers, evaluated on
# code it never saw (the package's example programs, --validation-data), then `loom fill-mask` on
# held-out lines. The training and evaluation losses land in OUT/run/metrics.jsonl, the probes in
# OUT/fill-mask.jsonl.
# usage: scripts/quality/wolfberta_pretrain.sh [OUT_DIR] [EPOCHS] [extra loom train mlm flags…]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/loom-wolfberta}"
epochs="${2:-2}"
shift $(($# < 2 ? $# : 2))
loom="$root/.build/release/loom"
[ -x "$loom" ] || (cd "$root" && swift build -c release --product loom)
[ -d /usr/include/wolfssl ] || { echo "needs libwolfssl-dev (apt-get install libwolfssl-dev)" >&2; exit 1; }
mkdir -p "$out"
# Lines that are only hex byte literals (DER certificates and keys embedded as C arrays, most of
# certs_test.h) are dropped: they were half of the tokens, and a model trained on them learns to
# predict `0x` and `,` instead of C.
find /usr/include/wolfssl /usr/include/cyassl -name '*.h' | LC_ALL=C sort | xargs cat |
  grep -v -E '^[[:space:]]*(0x[0-9A-Fa-f]{2},?[[:space:]]*)+$' > "$out/train.txt"
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
