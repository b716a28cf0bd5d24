#!/usr/bin/env bash
# bench/fleet.sh — what `leakscope watch --all` costs each of many busy processes.
#
#   bench/fleet.sh                 # 10 processes, 5 rounds of 10 s
#   N=10 ROUNDS=7 SECS=15 bench/fleet.sh
#
# Starts N copies of examples/clean-server.js without inspector flags (so
# SIGUSR1 opens 9229 and leakscope moves each inspector to a random port),
# then alternates rounds without and with `leakscope watch --all --match`
# attached to all of them, every process driven by its own `leakscope load
# -c 4` meanwhile. Prints each round's total req/s, the median throughput
# lost per process, and leakscope's own CPU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/fleet
mkdir -p "$out"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
L=$root/target/release/leakscope
n=${N:-10}; rounds=${ROUNDS:-5}; secs=${SECS:-10}
marker=leakscope-bench-fleet-$$
pids=(); ports=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
for i in $(seq "$n"); do
  PORT=0 node "$root/examples/clean-server.js" "$marker" > "$out/app-$i.out" 2>/dev/null &
  pids+=($!)
done
for i in $(seq "$n"); do
  for _ in $(seq 100); do grep -q listening "$out/app-$i.out" 2>/dev/null && break; sleep 0.1; done
  ports+=("$(grep -o '[0-9]*$' "$out/app-$i.out")")
done

drive_all() { # → one req/s per process, a line each
  local loads=()
  for i in $(seq 0 $((n - 1))); do
    "$L" load "http://127.0.0.1:${ports[$i]}/" -c 4 -d "${secs}s" --json > "$out/load-$i.json" 2>/dev/null &
    loads+=($!)
  done
  wait "${loads[@]}"
  for i in $(seq 0 $((n - 1))); do
    grep -o '"requests_per_second":[0-9.]*' "$out/load-$i.json" | cut -d: -f2
  done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
secs_saved=$secs; secs=3; drive_all > /dev/null; secs=$secs_saved # warm-up

echo "| round | without watch: total req/s | with watch: total req/s | lost | leakscope CPU (% of a core) |"
echo "|---|---|---|---|---|"
: > "$out/per-process"
for r in $(seq "$rounds"); do
  drive_all > "$out/without"
  "$L" watch --all --match "$marker" --duration "$((secs + 4))s" --json > "$out/watch.jsonl" &
  watch_pid=$!
  sleep 2 # all attached
  c0=$(cpu_ticks "$watch_pid")
  drive_all > "$out/with"
  c1=$(cpu_ticks "$watch_pid")
  wait "$watch_pid" || true
  attached=$(grep -c '"type":"attached"' "$out/watch.jsonl")
  [[ $attached == "$n" ]] || { echo "watch attached to $attached of $n processes" >&2; exit 1; }
  paste "$out/without" "$out/with" | awk '{printf "%.4f\n", ($1 - $2) / $1 * 100}' >> "$out/per-process"
  a=$(paste -sd+ "$out/without" | bc); b=$(paste -sd+ "$out/with" | bc)
  printf '| %s | %.0f | %.0f | %.1f %% | %.1f |\n' "$r" "$a" "$b" "$(echo "($a - $b) / $a * 100" | bc -l)" \
    "$(echo "($c1 - $c0) / $hz / $secs * 100" | bc -l)"
done
echo
echo "median throughput lost per process: $(sort -g "$out/per-process" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') % (over $n processes × $rounds rounds)"
echo "GC events seen by the last watch: $(grep -c '"type":"gc"' "$out/watch.jsonl")"
