#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ and runs each for SECONDS, failing on a crash.
#   scripts/fuzz.sh [TARGET|all] SECONDS [extra libFuzzer flags…]
# TARGET is a name without the fuzz- prefix (safetensors, config, tokenizer-json, vocab-merges,
# vocab-txt, char-vocab, idx, checkpoint, csv, jsonl, squad, adapter-config, preference (DPO/reward JSON lines and
# PPO's --prompts file), diffusers-config (scheduler_config.json, UNet2DModel and DiTTransformer2DModel config.json,
# model_index.json), c-analyser (the cage's C analyser on libclang), cage-config (the cage's JSON config file, as
# `loom cage check --config F` reads it), gan-config (a saved GAN's generator/config.json beside real weights, as
# `loom sample --model DIR` reads it); `all` runs them all). Each target starts from the committed seeds in
# Fuzz/corpus/TARGET and grows a scratch corpus in Fuzz/.corpus/TARGET (not committed);
# crashes are written to Fuzz/.crashes/TARGET/. libFuzzer's final stats (-print_final_stats)
# are printed per target, then one summary line each: executions, corpus size, crashes.
# Sanitizers: fuzzer + address (FUZZ_SANITIZERS=fuzzer to drop ASan).
set -uo pipefail
cd "$(dirname "$0")/../Fuzz"
which="${1:-all}"
seconds="${2:-30}"
shift 2 2>/dev/null || shift $#
all=(safetensors config tokenizer-json vocab-merges vocab-txt char-vocab idx checkpoint csv jsonl squad adapter-config
  preference diffusers-config c-analyser cage-config gan-config)
if [ "$which" = all ]; then targets=("${all[@]}"); else targets=("$which"); fi
sanitizers="${FUZZ_SANITIZERS:-fuzzer,address}"

start=$(date +%s)
# One product at a time: a plain `swift build` would also build the main package's CLI,
# plots and benchmarks. ld.gold warns about the sanitizer runtime's sections; those lines
# are dropped.
buildLog="$(mktemp)"
for t in "${targets[@]}"; do
  swift build -c release -Xswiftc "-sanitize=$sanitizers" -Xswiftc -g --product "fuzz-$t" >"$buildLog" 2>&1
  built=$?
  grep -v -E "ld.gold: warning" "$buildLog"
  [ "$built" -eq 0 ] || { echo "fuzz build of fuzz-$t failed"; rm -f "$buildLog"; exit 1; }
done
rm -f "$buildLog"
echo "fuzz build: $(( $(date +%s) - start )) s"

bin="$(swift build -c release -Xswiftc "-sanitize=$sanitizers" --show-bin-path)"
status=0
summary=()
for t in "${targets[@]}"; do
  corpus=".corpus/$t"
  crashes=".crashes/$t"
  mkdir -p "$corpus" "$crashes"
  log="$(mktemp)"
  # rss_limit: a reader must not need more than 2 GB for any input; timeout: no hang.
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}" \
    "$bin/fuzz-$t" "$corpus" "corpus/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -rss_limit_mb=2048 -timeout=10 -max_len=65536 -artifact_prefix="$crashes/" "$@" >"$log" 2>&1
  rc=$?
  # A Swift trap shows as "Swift runtime failure: …" from the runtime's backtracer, whose memory dump ASan may then
  # report as an "unknown-crash": the trap line and its first frames are the bug.
  grep -E "^stat::|^(==|SUMMARY|Done)|^#[0-9]+[[:space:]]+DONE|Swift runtime failure|Fatal error|^ +1 " "$log" |
    sed "s/^/fuzz-$t: /" | tail -20
  runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}')
  files=$(ls "$corpus" | wc -l)
  found=$(ls "$crashes" | wc -l)
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    echo "fuzz-$t: CRASH (exit $rc); see $crashes and:"; tail -40 "$log"
    status=1
  fi
  summary+=("fuzz-$t: ${runs:-0} executions in ${seconds} s, corpus ${files} files, crashes ${found}")
  rm -f "$log"
done
printf '%s\n' "${summary[@]}"
exit "$status"
