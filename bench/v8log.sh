#!/usr/bin/env bash
# bench/v8log.sh — the V8 log parser's throughput, and what V8's logging
# flags cost a server.
#
#   bench/v8log.sh            # MB=512 RUNS=3 SECONDS_LOAD=10
#
# 1. Runs examples/clean-server.js three ways — no flags, `--log-deopt
#    --log-ic` (what `leakscope jit` adds), and `--log-deopt` alone — each
#    under `leakscope load -c 20` for SECONDS_LOAD, and prints requests/s.
# 2. Repeats the flagged run's log into a MB-sized file (a real log's lines,
#    over and over) and times the parser (`--example read`) against `wc -l`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/v8log
mkdir -p "$out"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p leakscope -p leakscope-v8log --examples
L=$root/target/release/leakscope
mb=${MB:-512} runs=${RUNS:-3} secs=${SECONDS_LOAD:-10}
port=39517

serve() { # label flags… → requests/s under load
  local label=$1; shift
  PORT=$port node "$@" "$root/examples/clean-server.js" > /dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  local rps
  rps=$("$L" load "http://127.0.0.1:$port/item/{seq}" -c 20 --duration "${secs}s" --json |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).requests_per_second.toFixed(0)))')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '  %-32s %8s req/s\n' "$label" "$rps"
}

echo "server throughput, $(nproc) cores, ${secs}s each:"
for run in $(seq "$runs"); do
  serve "no flags"
  serve "--log-deopt --log-ic" --log-deopt --log-ic --no-logfile-per-isolate --logfile="$out/server.log"
  serve "--log-deopt" --log-deopt --no-logfile-per-isolate --logfile="$out/deopt-only.log"
done

big=$out/big-$mb.log
if [ ! -f "$big" ]; then
  : > "$big"
  while [ "$(stat -c %s "$big")" -lt $((mb * 1048576)) ]; do cat "$out/server.log" >> "$big"; done
fi
size=$(stat -c %s "$big")
cat "$big" > /dev/null # warm the page cache
echo "parser on $big ($((size / 1048576)) MB, the server's log repeated):"
for run in $(seq "$runs"); do
  /usr/bin/time -f '  %e s, %M KB peak' "$root/target/release/examples/read" "$big"
  /usr/bin/time -f '  wc -l: %e s' wc -l "$big" > /dev/null
done
