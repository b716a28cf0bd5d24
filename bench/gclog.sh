#!/usr/bin/env bash
# bench/gclog.sh — `leakscope gc-log` throughput on a big `--trace-gc` log.
#
#   bench/gclog.sh            # MB=1024 RUNS=3
#
# Generates target/bench/gclog/big.log (bench/gen-gclog.js: two processes,
# modern format, app lines mixed in) once, then times `leakscope gc-log`
# RUNS times against `wc -l`, `grep -c` and an awk line count on the same file (a floor
# for any line-oriented reader) and prints MB/s and peak memory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/gclog
mkdir -p "$out"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
L=$root/target/release/leakscope
mb=${MB:-1024} runs=${RUNS:-3}
log=$out/big-$mb.log
[ -f "$log" ] || node "$root/bench/gen-gclog.js" "$log" "$mb"
size=$(stat -c %s "$log")
cat "$log" > /dev/null # warm the page cache
echo "log: $log ($((size / 1048576)) MB); $(nproc) cores"
timed() { # label command… → prints MB/s and max RSS
  local label=$1; shift
  # Output to a file: GNU grep stops at the first match when it sees /dev/null.
  /usr/bin/time -f '%e %M' -o "$out/time" "$@" > "$out/stdout" 2>&1 || true
  read -r secs kb < <(tail -1 "$out/time")
  awk -v l="$label" -v s="$secs" -v b="$size" -v kb="$kb" \
    'BEGIN {printf "  %-34s %6.2f s  %7.0f MB/s  %6.0f MB peak\n", l, s, b / 1048576 / s, kb / 1024}'
}
for run in $(seq "$runs"); do
  echo "run $run"
  timed "leakscope gc-log --json" "$L" gc-log "$log" --json
  timed "wc -l" wc -l "$log"
  timed "grep -c ' ms: '" grep -c ' ms: ' "$log"
  timed "awk '/ ms: /' (count)" awk '/ ms: / {n++} END {print n}' "$log"
done
