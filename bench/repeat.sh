#!/usr/bin/env bash
# bench/repeat.sh [FILE.heapsnapshot] — what the analysis cache buys: the
# first `summary` on a file (analysis + saving it), the same without the cache
# (--no-cache), then later queries on the unchanged file (summary, retainers
# of the largest object, dominators), each timed with /usr/bin/time. The
# cache goes to a fresh directory under target/bench.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench
file=${1:-$out/snap-1gb.heapsnapshot}
[ -s "$file" ] || { echo "no $file: run bench/run.sh first (it generates the 1 GB snapshot)" >&2; exit 1; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin=$root/target/release/leakscope
export LEAKSCOPE_CACHE_DIR=$out/repeat-cache
rm -rf "$LEAKSCOPE_CACHE_DIR"
timed() { # label, then the command's arguments
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$out/repeat-time.txt" "$bin" "$@" >"$out/repeat-out.txt"
  read -r t kb <"$out/repeat-time.txt"
  printf '| %s | %s | %d MiB |\n' "$label" "$t" $((kb / 1024))
}
echo "| $(basename "$file") ($(du -m "$file" | cut -f1) MB) | wall (s) | peak RSS |"
echo "|---|---|---|"
timed "summary, no cache (--no-cache)" summary "$file" --no-cache
timed "summary, first (analysis + saving it)" summary "$file"
timed "summary, again" summary "$file"
id=$("$bin" summary "$file" --json --nodes 3 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).top[2].id))')
timed "retainers --id $id, first (+ retainer index saved)" retainers "$file" --id "$id"
timed "retainers --id $id, again" retainers "$file" --id "$id"
timed "dominators, again" dominators "$file"
timed "diff FILE FILE, again" diff "$file" "$file"
echo
du -sh "$LEAKSCOPE_CACHE_DIR" | awk '{print "cache on disk: " $1}'
