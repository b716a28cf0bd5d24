#!/usr/bin/env bash
# bench/fleet.sh — what `leakscope watch --all` costs each of many busy processes.
#
#   bench/fleet.sh                 # 10 watched + 10 control processes, 8 rounds of 10 s
#   N=10 ROUNDS=10 SECS=15 bench/fleet.sh
#   APP=http bench/fleet.sh        # examples/clean-server.js, each under its own `leakscope load -c 1`
#   WARMUP=120 WINDOWS=4 ROUNDS=2 SECS=30 APP=http bench/fleet.sh
#                                  # a long watch's steady cost: each watch runs 2 min
#                                  # before 4 windows of 30 s are measured
#
# Starts 2×N copies of bench/busy.js (request-like work in 5 ms batches:
# many GCs, an event loop that turns) without inspector flags, so SIGUSR1
# opens 9229 and leakscope moves each inspector to a random port. Each
# round `leakscope watch --all --match` watches one half while the other
# half, running at the same time on the same cores, is the control; the
# halves swap every round. Comparing at the same moment cancels the drift
# of a shared machine (±15 % from one 10 s window to the next here). With
# WARMUP the watch runs that long before its WINDOWS are measured, so its
# one-off costs (SIGUSR1, the observer's injection) are left out: what a
# fleet watch left running costs. The
# cost is the watched processes' work per CPU-second (from /proc) against
# the control's, and the same for work per second. Checks that every watch
# attached to its N processes and left no inspector open.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/fleet
mkdir -p "$out"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
L=$root/target/release/leakscope
n=${N:-10}; rounds=${ROUNDS:-8}; secs=${SECS:-10}; warmup=${WARMUP:-0}; windows=${WINDOWS:-1}
marker=leakscope-bench-fleet-$$
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
app=${APP:-busy}
ports=()
for i in $(seq $((2 * n))); do
  if [[ $app == http ]]; then
    PORT=0 node "$root/examples/clean-server.js" "$marker-$((i % 2))" > "$out/app-$i.out" 2>/dev/null &
  else
    node "$root/bench/busy.js" "$marker-$((i % 2))" > "$out/app-$i.out" 2>/dev/null &
  fi
  pids+=($!)
done
sleep 1
if [[ $app == http ]]; then
  for i in $(seq $((2 * n))); do
    for _ in $(seq 100); do grep -q listening "$out/app-$i.out" 2>/dev/null && break; sleep 0.1; done
    ports+=("$(grep -o '[0-9]*$' "$out/app-$i.out" | head -1)")
  done
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
work() { tail -n 1 "$out/app-$1.out"; }
listening() { ss -ltnp 2>/dev/null | grep -c '"node"' || true; }
hz=$(getconf CLK_TCK)
median() { sort -g "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The work done so far: busy.js says it; an HTTP server's is the requests
# its own `leakscope load -c 1` completed (started and ended with `measure`).
measure() { # → per process: half (0/1), work per second, work per CPU-second
  local w0=() c0=() loads=() i
  for i in $(seq $((2 * n))); do
    if [[ $app == http ]]; then
      "$L" load "http://127.0.0.1:${ports[$((i - 1))]}/" -c 1 -d "${secs}s" --json > "$out/load-$i.json" 2>/dev/null &
      loads+=($!); w0+=(0)
    else
      w0+=("$(work "$i")")
    fi
    c0+=("$(cpu_ticks "${pids[$((i - 1))]}")")
  done
  if [[ $app == http ]]; then wait "${loads[@]}"; else sleep "$secs"; fi
  for i in $(seq $((2 * n))); do
    local done_now
    if [[ $app == http ]]; then
      done_now=$(grep -o '"completed": *[0-9]*' "$out/load-$i.json" | grep -o '[0-9]*$')
    else
      done_now=$(work "$i")
    fi
    local w=$((done_now - w0[i - 1])) c=$(($(cpu_ticks "${pids[$((i - 1))]}") - c0[i - 1]))
    echo "$((i % 2)) $(echo "$w / $secs" | bc -l) $(echo "$w * $hz / $c" | bc -l)"
  done
}

listening_before=$(listening)
echo "| round | window | watched half | work/s: watched (mean) | control | lost | work per CPU-second: watched | control | lost | leakscope CPU (% of a core) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
: > "$out/lost"; : > "$out/lost-cpu"
for r in $(seq "$rounds"); do
  half=$((r % 2))
  "$L" watch --all --match "$marker-$half\$" --json > "$out/watch.jsonl" 2> "$out/watch.err" &
  watch_pid=$!
  sleep $((2 + warmup)) # all attached, and past the warm-up
  for win in $(seq "$windows"); do
    c0=$(cpu_ticks "$watch_pid")
    measure > "$out/round"
    c1=$(cpu_ticks "$watch_pid")
    awk -v h="$half" -v r="$r" -v win="$win" -v own="$(echo "($c1 - $c0) / $hz / $secs * 100" | bc -l)" -v lost="$out/lost" -v lostcpu="$out/lost-cpu" '
      $1 == h {w += $2; wc += $3; nw++} $1 != h {c += $2; cc += $3; nc++}
      END {
        w /= nw; wc /= nw; c /= nc; cc /= nc
        printf "%.4f\n", (c - w) / c * 100 >> lost; printf "%.4f\n", (cc - wc) / cc * 100 >> lostcpu
        printf "| %s | %s | %s | %.0f | %.0f | %.1f %% | %.0f | %.0f | %.1f %% | %.1f |\n", r, win, h, w, c, (c - w) / c * 100, wc, cc, (cc - wc) / cc * 100, own
      }' "$out/round"
  done
  kill -INT "$watch_pid" # Ctrl-C: it closes the inspectors it opened
  wait "$watch_pid" || true
  attached=$(grep -c '"type":"attached"' "$out/watch.jsonl")
  [[ $attached == "$n" ]] || { echo "watch attached to $attached of $n processes" >&2; exit 1; }
  [[ $(listening) == "$listening_before" ]] || { echo "an inspector stayed open" >&2; exit 1; }
done
echo
echo "median over $rounds rounds × $windows windows: work/s lost $(median "$out/lost") %, work per CPU-second lost $(median "$out/lost-cpu") % ($n watched beside $n control processes)"
echo "GC events seen by the last watch: $(grep -c '"type":"gc"' "$out/watch.jsonl"); full GCs per process: $(grep '"type":"detached"' "$out/watch.jsonl" | grep -o '"num_full_gc":[0-9]*' | cut -d: -f2 | paste -sd' '), of them forced: $(grep '"type":"detached"' "$out/watch.jsonl" | grep -o '"heap_compactions":[0-9]*' | cut -d: -f2 | paste -sd' ')"
