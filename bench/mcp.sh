#!/usr/bin/env bash
# bench/mcp.sh — ask leakscope's MCP server and memlab's MCP server the same
# questions about the same heap snapshots, and compare time, answer size and
# memory.
#
#   bench/mcp.sh                          # heaps of 300 and 1000 MB
#   SIZES="50" bench/mcp.sh
#   SERVERS="leakscope memlab" bench/mcp.sh
#
# The snapshots are bench/find-leaks.sh's triplets (target/bench/find-leaks/SIZE/
# s1, s2, s3: a catalogue Map of about SIZE MB and a timer leaking AuditEntry
# objects into the module-level array `auditTrail`), written by
# bench/leak-triplet.js if missing.
#
# Servers (SERVERS, default "leakscope memlab memlab-long"), each started fresh for each size
# and run alone (never both at once), over stdio with the official MCP SDK's
# client (bench/mcp-bench.mjs; the SDK comes from MCP_SDK_DIR, default
# target/mcp-client):
#   leakscope  target/release/leakscope mcp --no-cache (not built here: run
#              cargo build --release first)
#   memlab     @memlab/mcp-server, not on npm: built from the memlab monorepo
#              (MEMLAB_REPO, default https://github.com/facebook/memlab.git,
#              at MEMLAB_REF, default its HEAD) into target/bench/peers/memlab-mcp/src
#              with npm install + npm run build, once; run as
#              NODE_OPTIONS=--max-old-space-size=$MEMLAB_HEAP_MB (default 16000)
#              node packages/mcp-server/bin/memlab-mcp.js (its defaults: every call's
#              heap scans stop after its own 90 s analysis budget, counted from the
#              call's start, loads included)
#   memlab-long the same with that budget raised to the call timeout
#              (MEMLAB_ANALYSIS_TIMEOUT_MS=CALL_TIMEOUT_S × 1000)
#
# The questions, asked in this order (memlab's closest tools in brackets):
#   Q1 load + summary: top 20 classes by retained size of s3 (first question on
#      the file, so it includes parsing)   summary   [memlab_load_snapshot +
#      memlab_class_histogram include_retained_size]
#   Q2 the same summary again              summary   [memlab_class_histogram]
#   Q3 who retains the largest AuditEntry  retainers class=AuditEntry
#      [memlab_find_nodes_by_class node_type=object limit=1 + memlab_retainer_trace]
#   Q4 dominators of the root, top 10      dominators [memlab_dominator_subtree node_id=1]
#   Q5 statistics                          statistics [memlab_snapshot_summary]
#   Q6 duplicated strings, top 10          duplicated_strings [memlab_duplicated_strings]
#   Q7 compare s1 and s3                   compare   [memlab_diff_snapshots]
#   Q8 find the leak in s1, s2, s3         find_leaks [memlab_leak_report]
# Every call gets CALL_TIMEOUT_S (default 1800 s). A server that dies (or a call
# that times out) ends that server's run for that size; the rest is "not asked".
# The page cache is warmed with the three files before each server's run.
#
# Prints two Markdown tables: per question, the tool call(s), outcome, wall
# time, the answer's size in characters (text + structured content), whether it
# names AuditEntry / auditTrail (Q3: its retaining path goes through auditTrail;
# Q7, Q8: either name), and the server's peak RSS so far (VmHWM of the server
# and its children); then per server and size, the peak RSS and the total.
# Each run's answers are kept in target/bench/mcp/SIZE/SERVER.json (stderr in
# SERVER.stderr.txt).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/mcp
sizes=${SIZES:-"300 1000"}
servers=${SERVERS:-"leakscope memlab memlab-long"}
peer=$root/target/bench/peers/memlab-mcp
memlab_repo=${MEMLAB_REPO:-https://github.com/facebook/memlab.git}
export MEMLAB_HEAP_MB=${MEMLAB_HEAP_MB:-16000}
export CALL_TIMEOUT_S=${CALL_TIMEOUT_S:-1800}
export MCP_SDK_DIR=${MCP_SDK_DIR:-$root/target/mcp-client}
export LEAKSCOPE_BIN=$root/target/release/leakscope
export MEMLAB_MCP=$peer/src/packages/mcp-server/bin/memlab-mcp.js
mkdir -p "$out"
started=$SECONDS

[ -d "$MCP_SDK_DIR/node_modules/@modelcontextprotocol/sdk" ] || { echo "no MCP SDK in $MCP_SDK_DIR/node_modules" >&2; exit 2; }
case " $servers " in
  *" leakscope "*) [ -x "$LEAKSCOPE_BIN" ] || { echo "$LEAKSCOPE_BIN is missing: cargo build --release first" >&2; exit 2; } ;;
esac
case " $servers " in
  *" memlab"*)
    if [ ! -d "$peer/src/.git" ]; then
      echo "cloning memlab from $memlab_repo…" >&2
      rm -rf "$peer/src.tmp" && mkdir -p "$peer"
      git clone -q "$memlab_repo" "$peer/src.tmp"
      [ -z "${MEMLAB_REF:-}" ] || git -C "$peer/src.tmp" checkout -q "$MEMLAB_REF"
      mv "$peer/src.tmp" "$peer/src"
    fi
    if [ ! -d "$peer/src/node_modules/@modelcontextprotocol/sdk" ]; then
      echo "npm install in $peer/src…" >&2
      (cd "$peer/src" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error >"$peer/npm-install.log" 2>&1) \
        || { echo "npm install failed: see $peer/npm-install.log" >&2; exit 2; }
    fi
    if [ ! -f "$peer/src/packages/mcp-server/dist/index.js" ]; then
      echo "building memlab (npm run build)…" >&2
      (cd "$peer/src" && npm run build >"$peer/npm-build.log" 2>&1) \
        || { echo "npm run build failed: see $peer/npm-build.log" >&2; exit 2; }
    fi
    memlab_commit=$(git -C "$peer/src" rev-parse HEAD)
    ;;
esac

runs=()
for size in $sizes; do
  snaps=$root/target/bench/find-leaks/$size
  if [ ! -s "$snaps/s3.heapsnapshot" ]; then
    echo "generating the $size MB triplet into $snaps…" >&2
    rm -rf "$snaps.tmp"
    node "$root/bench/leak-triplet.js" "$snaps.tmp" "$size" >&2
    rm -rf "$snaps" && mv "$snaps.tmp" "$snaps"
  fi
  mkdir -p "$out/$size"
  for server in $servers; do
    echo "$size MB: $server…" >&2
    cat "$snaps"/s1.heapsnapshot "$snaps"/s2.heapsnapshot "$snaps"/s3.heapsnapshot >/dev/null
    node "$root/bench/mcp-bench.mjs" --server "$server" --dir "$snaps" --out "$out/$size/$server.json"
    runs+=("$out/$size/$server.json")
  done
done

echo "MCP servers on the find-leaks triplets ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB RAM)"
echo
echo "- leakscope: \`$LEAKSCOPE_BIN mcp --no-cache\`"
[ -z "${memlab_commit:-}" ] || echo "- memlab: @memlab/mcp-server $(node -p "require('$peer/src/packages/mcp-server/package.json').version") built from facebook/memlab $memlab_commit, \`NODE_OPTIONS=--max-old-space-size=$MEMLAB_HEAP_MB node $MEMLAB_MCP\`"
case " $servers " in *" memlab-long "*) echo "- memlab (budget $CALL_TIMEOUT_S s): the same with MEMLAB_ANALYSIS_TIMEOUT_MS=$((CALL_TIMEOUT_S * 1000)) (memlab's own per-call analysis budget; default 90 s)" ;; esac
for size in $sizes; do
  echo "- heap $size MB: s1 / s2 / s3 = $(for s in s1 s2 s3; do du -m "$root/target/bench/find-leaks/$size/$s.heapsnapshot" | cut -f1; done | paste -sd/ | sed 's#/# / #g') MB on disk"
done
echo "- every call's timeout: $CALL_TIMEOUT_S s"
echo
node "$root/bench/mcp-bench.mjs" --table "${runs[@]}"
echo
echo "Whole run: $((SECONDS - started)) s."
