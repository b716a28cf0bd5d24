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

cpu_ticks() { # pid → user+system clock ticks so far
  awk '{print $14 + $15}' "/proc/$1/stat"
}

if [[ $part == *watch* ]]; then
  rounds=${ROUNDS:-5}; secs=${SECS:-10}
  start_app "$root/examples/clean-server.js"
  drive "$app_port" 3 >/dev/null # warm-up
  echo "| round | without watch (req/s) | with watch (req/s) | target CPU per request without (µs) | with (µs) | leakscope CPU (ms) |"
  echo "|---|---|---|---|---|---|"
  : > "$out/ratios"; : > "$out/cpu"
  hz=$(getconf CLK_TCK)
  for r in $(seq "$rounds"); do
    c0=$(cpu_ticks "$app_pid")
    without=$(drive "$app_port" "$secs")
    c1=$(cpu_ticks "$app_pid")
    "$L" watch --pid "$app_pid" --json --duration "$((secs + 2))s" ${WATCH_ARGS:-} > "$out/watch.jsonl" &
    watch_pid=$!
    sleep 1
    c2=$(cpu_ticks "$app_pid")
    with=$(drive "$app_port" "$secs")
    c3=$(cpu_ticks "$app_pid")
    own=$(cpu_ticks "$watch_pid")
    wait "$watch_pid" || true
    cpu_without=$(echo "($c1 - $c0) / $hz * 1000000 / ($without * $secs)" | bc -l)
    cpu_with=$(echo "($c3 - $c2) / $hz * 1000000 / ($with * $secs)" | bc -l)
    printf '| %s | %s | %s | %.1f | %.1f | %s |\n' "$r" "$without" "$with" "$cpu_without" "$cpu_with" "$((own * 1000 / hz))"
    echo "$without $with" | awk '{printf "%.4f\n", ($1 - $2) / $1 * 100}' >> "$out/ratios"
    echo "$cpu_without $cpu_with" | awk '{printf "%.4f\n", ($2 - $1) / $1 * 100}' >> "$out/cpu"
  done
  echo
  echo "median throughput lost with watch: $(sort -g "$out/ratios" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') %"
  echo "median extra target CPU per request with watch: $(sort -g "$out/cpu" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') %"
  echo "GC events seen by the last watch: $(grep -c '"type":"gc"' "$out/watch.jsonl")"
  kill "$app_pid"
fi

if [[ $part == *snapshot* ]]; then
  mb=${MB:-300}
  MB=$mb NODE_OPTIONS=--inspect-port=0 node --max-old-space-size=8000 "$root/bench/bigheap.js" > "$out/big.out" 2>/dev/null &
  big=$!
  for _ in $(seq 600); do grep -q ready "$out/big.out" 2>/dev/null && break; sleep 0.5; done
  cat "$out/big.out"
  echo "| run | order | leakscope snapshot --pid: whole command (s) | of which the capture (s) | v8.writeHeapSnapshot() in process (s) | file size |"
  echo "|---|---|---|---|---|---|"
  builtin() {
    ms=$("$L" eval --pid "$big" "(() => { const t = process.hrtime.bigint(); require('v8').writeHeapSnapshot('$out/builtin.heapsnapshot'); return Number(process.hrtime.bigint() - t) / 1e6 })()" 2>/dev/null)
    echo "$ms / 1000" | bc -l | xargs printf '%.2f'
  }
  ours() {
    t0=$(date +%s.%N)
    capture=$("$L" snapshot --pid "$big" -o "$out/inspector.heapsnapshot" --json 2>/dev/null | awk -F': ' '/"seconds"/ {gsub(",", "", $2); print $2}')
    t1=$(date +%s.%N)
    printf '%.2f | %.2f' "$(echo "$t1 - $t0" | bc -l)" "$capture"
  }
  for r in 1 2 3 4; do
    if (( r % 2 )); then a=$(ours); b=$(builtin); order="leakscope first"; else b=$(builtin); a=$(ours); order="built-in first"; fi
    size=$(stat -c %s "$out/inspector.heapsnapshot")
    echo "| $r | $order | $a | $b | $((size / 1000000)) MB |"
  done
  kill "$big"
  rm -f "$out"/*.heapsnapshot
fi
