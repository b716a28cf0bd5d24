#!/usr/bin/env bash
# bench/compressed.sh [FILE.heapsnapshot] — `leakscope summary` on a snapshot
# plain, gzip-compressed (gzip -1) and zstd-compressed (zstd -3): wall time
# and peak RSS, 3 runs each, and a check that the numbers are the same. The
# compressed copies are made once, beside the file in target/bench.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench
file=${1:-$out/snap-1gb.heapsnapshot}
[ -s "$file" ] || { echo "no $file: run bench/run.sh first (it generates the 1 GB snapshot)" >&2; exit 1; }
[ -s "$file.gz" ] || gzip -1 -k -c "$file" >"$file.gz"
[ -s "$file.zst" ] || zstd -3 -q -k -f "$file" -o "$file.zst"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin=$root/target/release/leakscope
echo "| input | size | seconds (3 runs) | peak RSS |"
echo "|---|---|---|---|"
for f in "$file" "$file.gz" "$file.zst"; do
  times=() rss=0
  for _ in 1 2 3; do
    line=$( { /usr/bin/time -f '%e %M' "$bin" summary "$f" --json --no-cache >"$out/summary-$(basename "$f").json"; } 2>&1 | tail -1)
    times+=("${line% *}")
    rss=${line#* }
  done
  printf '| %s | %s | %s | %d MiB |\n' "$(basename "$f")" "$(du -h "$f" | cut -f1)" "${times[*]}" $((rss / 1024))
done
base=$out/summary-$(basename "$file").json
cmp -s "$base" "$out/summary-$(basename "$file").gz.json" && cmp -s "$base" "$out/summary-$(basename "$file").zst.json" \
  && echo "same summary from all three" || { echo "the summaries differ" >&2; exit 1; }
