#!/usr/bin/env bash
# bench/find-leaks.sh — find the leak in three snapshots of one leaking process
# with `leakscope find-leaks` and with memlab's `find-leaks`, on the same files.
#
#   bench/find-leaks.sh                          # heaps of 50, 300 and 1000 MB
#   SIZES="50 300" bench/find-leaks.sh
#   TOOLS="leakscope memlab-all" bench/find-leaks.sh
#
# Sizes are heap MB for bench/leak-triplet.js, which writes s1, s2, s3 once into
# target/bench/find-leaks/SIZE (a catalogue Map of about SIZE MB, and a timer
# leaking AuditEntry objects into the module-level array `auditTrail`, max(2,
# SIZE/100) MB between snapshots). memlab 2.0.5 is installed into
# target/bench/peers as bench/run.sh does it.
#
# Tools (TOOLS, default "leakscope memlab memlab-all"):
#   leakscope   leakscope find-leaks s1 s2 s3 --json --no-cache (exit 1 = leak found: success; 2 = failure)
#   memlab      memlab find-leaks --baseline s1 --target s2 --final s3 (its defaults: the built-in
#               filter keeps only detached DOM / React Fiber / stack-trace / XHR objects, so it
#               reports nothing in a Node heap)
#   memlab-all  … --trace-all-objects (every object allocated between s1 and s2 and alive in s3 is
#               a leak candidate; what memlab's maintainers suggest for Node.js, facebook/memlab#30)
#   memlab-ml   … --trace-all-objects --ml-clustering (slower; clusters traces differently)
# memlab runs under node --max-old-space-size=$MEMLAB_HEAP_MB (default 16000), each run
# in a fresh --work-dir; TIMEOUT (default 3600 s) bounds every run.
#
# Prints a Markdown table: heap, snapshot sizes, tool, wall time and peak RSS
# (from /usr/bin/time), and what the tool names: leakscope's first finding's
# holder (jq .findings[0].holder); memlab's first leak trace, from its first
# closure-variable edge on, with the number of sampled traces in its cluster.
# (memlab samples traces with Math.random and shows the first trace of a
# cluster, so what it names can change from run to run.)
# A run that fails shows "failed" (or "timeout") and the script goes on; its
# output is kept in target/bench/find-leaks/SIZE/{out,err}-TOOL.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/find-leaks
peers_dir=$root/target/bench/peers
sizes=${SIZES:-"50 300 1000"}
tools=${TOOLS:-"leakscope memlab memlab-all"}
memlab_heap=${MEMLAB_HEAP_MB:-16000}
timeout_s=${TIMEOUT:-3600}
mkdir -p "$out" "$peers_dir"

echo "building leakscope and installing memlab…" >&2
leakscope_built=1
if ! cargo build --release --quiet --manifest-path "$root/Cargo.toml"; then
  echo "warning: cargo build failed; the leakscope rows will show \"failed\"" >&2
  leakscope_built=0
fi
case " $tools " in
  *" memlab"*)
    [ -d "$peers_dir/node_modules/memlab" ] || (cd "$peers_dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error memlab@2.0.5 >/dev/null) ;;
esac

# The command line of one tool on the triplet in $1 (a directory).
command_for() {
  local d=$1
  local memlab="node --max-old-space-size=$memlab_heap $peers_dir/node_modules/memlab/bin/memlab find-leaks --baseline $d/s1.heapsnapshot --target $d/s2.heapsnapshot --final $d/s3.heapsnapshot --work-dir $d/memlab-work"
  case $2 in
    leakscope) echo "$root/target/release/leakscope find-leaks $d/s1.heapsnapshot $d/s2.heapsnapshot $d/s3.heapsnapshot --json --no-cache" ;;
    memlab) echo "$memlab" ;;
    memlab-all) echo "$memlab --trace-all-objects" ;;
    memlab-ml) echo "$memlab --trace-all-objects --ml-clustering" ;;
    *) echo "unknown tool $2" >&2; return 2 ;;
  esac
}

# Did the run succeed? $1 tool, $2 exit status, $3 stdout file, $4 stderr file.
succeeded() {
  case $1 in
    leakscope) [ "$2" -eq 0 ] || [ "$2" -eq 1 ] ;;                      # 1: it found a leak
    memlab*) [ "$2" -eq 0 ] && cat "$3" "$4" | grep -q "MemLab found" ;; # memlab can print an error and exit 0
  esac
}

# What the tool names as the leak. $1 tool, $2 stdout file, $3 stderr file.
names() {
  case $1 in
    leakscope) jq -r '(.findings[0].holder // "no finding") | tostring' "$2" 2>/dev/null || echo "? (no JSON)" ;;
    memlab*)
      # memlab prints its report on stderr (only the table of objects
      # allocated in target and alive in final goes to stdout), and overwrites
      # progress lines with ANSI escapes; strip them, then
      # take the first cluster after "MemLab found N leak(s)": its trace from
      # the first closure-variable edge on (else its last three edges), the
      # number of sampled traces in the cluster and their retained size.
      cat "$3" "$2" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | awk '
        /MemLab found [0-9]+ leak/ { found = 1; n = $3; next }
        found && /^--Similar leaks in this run:/ { if (inc) exit; inc = 1; sim = $6; sub(/--$/, "", sim); next }
        found && /^--Retained size of leaked objects:/ { size = $6; sub(/--$/, "", size); next }
        inc && /^ *--.*--->/ {
          line = $0; sub(/^ *--/, "", line)
          edge = line; sub(/--->.*/, "", edge)
          node = line; sub(/.*---> +/, "", node); sub(/ \(.*/, "", node)
          steps[++k] = edge " → " node; nodes[k] = node; next
        }
        inc && /^\[/ { nodes[0] = $0; sub(/ \(.*/, "", nodes[0]); next }
        inc && /^ *$/ && k > 0 { exit }
        END {
          if (!found) { print "?"; exit }
          if (n == 0) { print "nothing (0 leaks)"; exit }
          # from the first closure variable on (the holder in user code), else the last three edges
          first = (k > 3 ? k - 2 : 1)
          for (i = 1; i <= k; i++) if (steps[i] ~ /\(variable\) → /) { first = i; break }
          s = nodes[first - 1]
          for (i = first; i <= k; i++) s = s " → " steps[i]
          printf "%s (%s leak clusters; first: %s similar, %s)\n", s, n, sim, size
        }' ;;
  esac
}

echo "| heap (MB) | snapshots s1 / s2 / s3 (MB) | tool | wall (s) | peak RSS (MB) | names |"
echo "|---|---|---|---|---|---|"
for size in $sizes; do
  dir=$out/$size
  if [ ! -s "$dir/s3.heapsnapshot" ]; then
    echo "generating the $size MB triplet into $dir…" >&2
    rm -rf "$dir.tmp"
    if ! node "$root/bench/leak-triplet.js" "$dir.tmp" "$size" >&2; then
      echo "| $size | failed to generate | | | | |"
      continue
    fi
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
  fi
  snaps=$(for s in s1 s2 s3; do du -m "$dir/$s.heapsnapshot" | cut -f1; done | paste -sd/ | sed 's#/# / #g')
  for tool in $tools; do
    cmd=$(command_for "$dir" "$tool")
    echo "$size MB: $tool…" >&2
    rm -rf "$dir/memlab-work" && mkdir -p "$dir/memlab-work" # a fresh memlab work dir each run
    rc=0
    if [ "$tool" = leakscope ] && [ "$leakscope_built" = 0 ]; then
      rc=2; echo "cargo build failed" > "$dir/err-$tool.txt"; : > "$dir/out-$tool.txt"
    else
      # timeout inside time: it kills the tool itself, and time still reports.
      /usr/bin/time -f "%e %M" -o "$dir/time-$tool.txt" timeout -k 30 "$timeout_s" $cmd >"$dir/out-$tool.txt" 2>"$dir/err-$tool.txt" || rc=$?
    fi
    if succeeded "$tool" "$rc" "$dir/out-$tool.txt" "$dir/err-$tool.txt"; then
      # (time puts "Command exited with non-zero status 1" first when leakscope finds a leak)
      read -r t kb < <(tail -1 "$dir/time-$tool.txt")
      mb=$((kb / 1024))
      what=$(names "$tool" "$dir/out-$tool.txt" "$dir/err-$tool.txt" | head -1 | cut -c1-260 | sed 's/|/\\|/g')
    else
      if [ "$rc" -eq 124 ]; then t="timeout (${timeout_s} s)"; else t="failed"; fi
      mb="-"
      # the first line that speaks of an error, else the last line
      err=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$dir/err-$tool.txt" | grep -v '^\s*$' | grep -iv 'Command exited with' || true)
      err=$( (grep -m1 -i 'error' <<<"$err" || tail -1 <<<"$err") | cut -c1-120 | sed 's/|/\\|/g')
      what="exit $rc: $err"
    fi
    echo "| $size | $snaps | $tool | $t | $mb | $what |"
  done
  rm -rf "$dir/memlab-work"
done
