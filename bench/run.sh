#!/usr/bin/env bash
# bench/run.sh — time a full analysis (parse → Summary view) of big snapshots
# with leakscope and its peers, side by side, in one run.
#
#   bench/run.sh                 # 50mb 300mb 1gb 2gb
#   SIZES="50mb 300mb" bench/run.sh
#   PEERS="leakscope devtools" bench/run.sh
#
# Snapshots are generated once into target/bench (about 2 minutes for 1 GB);
# peers are installed into target/bench/peers. Prints a Markdown table of wall
# time and peak RSS (from /usr/bin/time), with ratios against leakscope.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench
peers_dir=$out/peers
sizes=${SIZES:-"50mb 300mb 1gb 2gb"}
peers=${PEERS:-"leakscope devtools memlab v8-heap-parser"}
mkdir -p "$out" "$peers_dir"

scale() { case $1 in 50mb) echo 11000;; 300mb) echo 65500;; 1gb) echo 225000;; 2gb) echo 450000;; *) echo "unknown size $1" >&2; exit 2;; esac; }

echo "building leakscope and installing peers…" >&2
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
for p in $peers; do
  case $p in
    devtools) bash "$root/tools/devtools-oracle/setup.sh" "$root/target/devtools-oracle" >/dev/null ;;
    memlab) [ -d "$peers_dir/node_modules/memlab" ] || (cd "$peers_dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error memlab@2.0.5 >/dev/null) ;;
    v8-heap-parser) CARGO_TARGET_DIR=$peers_dir/cargo cargo build --release --quiet --manifest-path "$root/bench/peers/v8-heap-parser/Cargo.toml" ;;
  esac
done

command_for() { # peer file
  case $1 in
    # --no-cache: the analysis itself, as the peers do it (bench/repeat.sh times the cache).
    leakscope) echo "$root/target/release/leakscope summary $2 --top 20 --no-cache" ;;
    devtools) echo "node --max-old-space-size=16000 $root/target/devtools-oracle/dump.mjs $2 --top 20" ;;
    memlab) echo "node --max-old-space-size=16000 $root/bench/peers/memlab-summary.js $2" ;;
    v8-heap-parser) echo "$peers_dir/cargo/release/v8-heap-parser-bench $2" ;;
  esac
}

echo "| snapshot | tool | wall (s) | peak RSS (MB) | time vs leakscope | RSS vs leakscope |"
echo "|---|---|---|---|---|---|"
for size in $sizes; do
  file=$out/snap-$size.heapsnapshot
  if [ ! -s "$file" ]; then
    echo "generating $file…" >&2
    (cd "$out" && node --max-old-space-size=16000 "$root/bench/gen-snapshot.js" "$(scale "$size")" "$file" >&2)
  fi
  base_t=""; base_m=""
  for p in $peers; do
    cmd=$(command_for "$p" "$file")
    # NODE_PATH lets the memlab script find its install under target/.
    if NODE_PATH=$peers_dir/node_modules /usr/bin/time -f "%e %M" -o "$out/time.txt" $cmd >/dev/null 2>"$out/stderr-$p.txt"; then
      read -r t kb < "$out/time.txt"
      mb=$((kb / 1024))
    else
      t="failed"; mb="-"
    fi
    if [ "$p" = leakscope ]; then base_t=$t; base_m=$mb; fi
    ratio_t=$(awk -v a="$t" -v b="$base_t" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.1f×", a/b; else print "-" }')
    ratio_m=$(awk -v a="$mb" -v b="$base_m" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.1f×", a/b; else print "-" }')
    echo "| $size ($(du -m "$file" | cut -f1) MB) | $p | $t | $mb | $ratio_t | $ratio_m |"
  done
done
