#!/usr/bin/env bash
# bench/load.sh — `leakscope load` against ab and wrk on the same server.
#
#   bench/load.sh                    # ROUNDS=3 N=50000 SECS=5 C=50
#
# Starts bench/hello.js (or SERVER=path/to/server.js), then for ROUNDS
# rounds runs, back to back: `ab -k -c C -n N`, `leakscope load -c C -n N` (and with
# --no-keep-alive, which is what ab ends up doing against Node),
# `wrk -t 2 -c C -d SECS`, `leakscope load -c C -d SECS`. Prints req/s and
# p99 latency of each run and the medians. Needs `ab` (Debian
# apache2-utils) and `wrk`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/load
mkdir -p "$out"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
L=$root/target/release/leakscope
rounds=${ROUNDS:-3} n=${N:-50000} secs=${SECS:-5} c=${C:-50}
for tool in ab wrk; do
  command -v $tool >/dev/null || { echo "needs $tool (apt-get install apache2-utils wrk)" >&2; exit 2; }
done

PORT=0 node "${SERVER:-$root/bench/hello.js}" > "$out/server.out" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q listening "$out/server.out" 2>/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$(grep -o '[0-9]*$' "$out/server.out")/"
echo "server: ${SERVER:-bench/hello.js} at $url; $(nproc) cores; node $(node --version)"

results=$out/results.tsv
: > "$results"
record() { echo -e "$1\t$2\t$3" >> "$results"; printf '%-40s %9.0f req/s  p99 %7.2f ms\n' "$1" "$2" "$3"; }
for round in $(seq "$rounds"); do
  echo "round $round"
  ab -q -k -c "$c" -n "$n" "$url" > "$out/ab.txt" 2>&1
  record "ab -k -n $n" "$(awk '/Requests per second/ {print $4}' "$out/ab.txt")" \
    "$(awk '/ 99%/ {print $2}' "$out/ab.txt")"
  "$L" load "$url" -c "$c" -n "$n" --json > "$out/ls-n.json"
  record "leakscope load -n $n" "$(jq .requests_per_second "$out/ls-n.json")" "$(jq .latency.p99_ms "$out/ls-n.json")"
  # ab speaks HTTP/1.0 and Node closes those connections after each
  # response whatever -k says, so compare with a connection per request too.
  "$L" load "$url" -c "$c" -n "$n" --no-keep-alive --json > "$out/ls-nk.json"
  record "leakscope load -n $n --no-keep-alive" "$(jq .requests_per_second "$out/ls-nk.json")" "$(jq .latency.p99_ms "$out/ls-nk.json")"
  wrk -t 2 -c "$c" -d "${secs}s" --latency "$url" > "$out/wrk.txt"
  record "wrk -d ${secs}s" "$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")" \
    "$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) sub(/ms/,"",v); else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' "$out/wrk.txt")"
  "$L" load "$url" -c "$c" -d "${secs}s" --json > "$out/ls-d.json"
  record "leakscope load -d ${secs}s" "$(jq .requests_per_second "$out/ls-d.json")" "$(jq .latency.p99_ms "$out/ls-d.json")"
done
echo "medians over $rounds rounds:"
cut -f1 "$results" | sort -u | while read -r tool; do
  awk -F'\t' -v t="$tool" '$1 == t {print $2}' "$results" | sort -n |
    awk -v t="$tool" '{v[NR]=$1} END {printf "  %-40s %9.0f req/s\n", t, v[int((NR+1)/2)]}'
done
