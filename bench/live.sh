#!/usr/bin/env bash
# bench/live.sh — what live capture costs the target.
#
#   bench/live.sh            # both parts
#   PART=watch bench/live.sh # throughput with and without `leakscope watch`
#   PART=snapshot bench/live.sh
#
# watch: examples/clean-server.js under wrk (-c 50 -k, Debian package `wrk`;
#   falls back to bench/load.js) for ROUNDS rounds of SECS seconds, alternating
#   without and with `leakscope watch` attached; prints req/s per round and
#   the median cost.
# snapshot: a process holding a ~MB MB heap (bench/bigheap.js); times
#   `leakscope snapshot --pid` against `v8.writeHeapSnapshot()` run inside the
#   same process, twice each, alternating.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/live
mkdir -p "$out"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
L=$root/target/release/leakscope
part=${PART:-"watch snapshot"}

start_app() { # script → sets app_pid, app_port
  NODE_OPTIONS=--inspect-port=0 PORT=0 node "$1" > "$out/app.out" 2>/dev/null &
  app_pid=$!
  for _ in $(seq 100); do grep -q listening "$out/app.out" 2>/dev/null && break; sleep 0.1; done
  app_port=$(grep -o '[0-9]*$' "$out/app.out")
}

drive() { # port seconds → req/s
  if command -v wrk >/dev/null; then
    wrk -c 50 -t 2 -d "${2}s" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}'
  else
    node "$root/bench/load.js" "$1" "$2" 50
  fi
}

if [[ $part == *watch* ]]; then
  rounds=${ROUNDS:-5}; secs=${SECS:-10}
  start_app "$root/examples/clean-server.js"
  drive "$app_port" 3 >/dev/null # warm-up
  echo "| round | without watch (req/s) | with watch (req/s) |"
  echo "|---|---|---|"
  : > "$out/ratios"
  for r in $(seq "$rounds"); do
    without=$(drive "$app_port" "$secs")
    "$L" watch --pid "$app_pid" --json --duration "$((secs + 2))s" > "$out/watch.jsonl" &
    watch_pid=$!
    sleep 1
    with=$(drive "$app_port" "$secs")
    wait "$watch_pid" || true
    echo "| $r | $without | $with |"
    echo "$without $with" | awk '{printf "%.4f\n", ($1 - $2) / $1 * 100}' >> "$out/ratios"
  done
  echo
  echo "median throughput lost with watch: $(sort -g "$out/ratios" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') %"
  echo "GC events seen by the last watch: $(grep -c '"type":"gc"' "$out/watch.jsonl")"
  kill "$app_pid"
fi

if [[ $part == *snapshot* ]]; then
  mb=${MB:-300}
  MB=$mb NODE_OPTIONS=--inspect-port=0 node --max-old-space-size=8000 "$root/bench/bigheap.js" > "$out/big.out" &
  big=$!
  for _ in $(seq 600); do grep -q ready "$out/big.out" 2>/dev/null && break; sleep 0.5; done
  cat "$out/big.out"
  echo "| run | leakscope snapshot --pid (s) | v8.writeHeapSnapshot() in process (s) | file size |"
  echo "|---|---|---|---|"
  for r in 1 2; do
    t0=$(date +%s.%N)
    "$L" snapshot --pid "$big" -o "$out/inspector.heapsnapshot" > /dev/null
    t1=$(date +%s.%N)
    ms=$("$L" eval --pid "$big" "(() => { const t = process.hrtime.bigint(); require('v8').writeHeapSnapshot('$out/builtin.heapsnapshot'); return Number(process.hrtime.bigint() - t) / 1e6 })()")
    size=$(stat -c %s "$out/inspector.heapsnapshot")
    echo "| $r | $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') | $(echo "$ms / 1000" | bc -l | xargs printf '%.2f') | $((size / 1000000)) MB |"
  done
  kill "$big"
  rm -f "$out"/*.heapsnapshot
fi
