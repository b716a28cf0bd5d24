#!/usr/bin/env bash
# bench/bigheap-hunt.sh — `leakscope hunt` on production-sized heaps: the build
# before the sampled hunt (commit fb19b00) and the current one, side by side.
#
#   bench/bigheap-hunt.sh                        # catalogues of 650 and 1500 MB, both builds
#   SIZES=650 TOOLS=after bench/bigheap-hunt.sh
#   BUDGET=120s TIMEOUT=600 bench/bigheap-hunt.sh
#
# The target is bench/bigheap-server.js: a static catalogue of about SIZE MB of
# small objects (a Map of Products), and one AuditEntry (~360 B) leaked into the
# module-level array `auditTrail` per request. Each (size, tool) gets a fresh
# server under node --max-old-space-size=2×SIZE+1024, started here so its PID is
# known; then
#   /usr/bin/time -f "%e %M" timeout TIMEOUT  L hunt --pid PID --url http://127.0.0.1:PORT/ --json --budget BUDGET
# and the server's VmHWM (its peak RSS, the snapshots' cost included) is read
# from /proc before it is killed. One server at a time.
#
# Tools (TOOLS, default "before after"):
#   before  leakscope at fb19b00, from a git worktree in target/bench/bigheap-hunt/before-src
#           built into target/bench/bigheap-hunt/before-target (once; reused)
#   after   target/release/leakscope (cargo build --release first)
#   forced  the same with --force-snapshot: the one final snapshot is taken
#           even when its bound exceeds the memory left (the user knows the
#           host has room); predicted like before (22× the catalogue)
#
# Environment: SIZES (catalogue MB, default "650 1500"), TOOLS, BUDGET (hunt
# --budget, default 300s), TIMEOUT (seconds around each hunt, default 900),
# RESERVE_MB (memory left free, default 1024), BEFORE_MB_PER_MB / AFTER_MB_PER_MB
# (predicted peak memory of server + leakscope per catalogue MB: default 22,
# since the old build snapshots every round and a snapshot of a heap of small
# objects costs the target ~18× the heap; and 3, since the new build estimates
# a snapshot's cost and refuses one the host cannot afford). A run whose
# prediction exceeds MemAvailable − RESERVE_MB is skipped, with the reason.
#
# Before each server starts, waits (polling every 30 s, up to 30 minutes)
# until no `cargo test`, test binary, corpus bench or other bigheap-server.js
# (one that works or just started) runs; a row is marked "(disturbed)" when one showed up during its hunt
# (polled every 5 s; the notes say which), "(busy machine)" when the wait
# gave up.
#
# Prints a Markdown table (progress on stderr), then notes per run: why the
# hunt was sampled, what stopped it, its snapshot decisions, the server's fate.
# Pauses are what the target saw: the baseline's (snapshot, or GC in a sampled
# hunt), each round's, and "+ final N" for the one snapshot a sampled hunt
# takes at the end to name the holder. Each run's JSON, stderr, time and server
# logs are kept in target/bench/bigheap-hunt/SIZE/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/bigheap-hunt
sizes=${SIZES:-"650 1500"}
tools=${TOOLS:-"before after"}
budget=${BUDGET:-300s}
timeout_s=${TIMEOUT:-900}
reserve_mb=${RESERVE_MB:-1024}
before_factor=${BEFORE_MB_PER_MB:-22}
after_factor=${AFTER_MB_PER_MB:-3}
before_commit=fb19b00
busy='cargo test|target/release/deps/|bench/corpus'
server_re='node .*bigheap-server\.js'   # another run's server (ours is never up while we wait)
mkdir -p "$out"

for tool in $tools; do
  case $tool in before|after|forced) ;; *) echo "unknown tool $tool (before, after, forced)" >&2; exit 2 ;; esac
done

# ---------- the two builds ----------
declare -A bin=() build_error=()
for tool in $tools; do
  case $tool in
    after|forced)
      [ -n "${bin[after]:-}" ] && { bin[$tool]=${bin[after]}; continue; }
      echo "building leakscope (after)…" >&2
      if cargo build --release --quiet --manifest-path "$root/Cargo.toml" >&2; then
        bin[after]=$root/target/release/leakscope
        bin[$tool]=${bin[after]}
      else
        build_error[$tool]="cargo build failed"
      fi ;;
    before)
      src=$out/before-src
      bin[before]=$out/before-target/release/leakscope
      if [ ! -x "${bin[before]}" ]; then
        if [ ! -e "$src/.git" ]; then
          echo "creating the worktree of $before_commit in $src…" >&2
          git -C "$root" worktree prune
          git -C "$root" worktree add --detach "$src" "$before_commit" >&2
        fi
        echo "building leakscope at $before_commit (before; once)…" >&2
        if ! CARGO_TARGET_DIR=$out/before-target cargo build --release --quiet --manifest-path "$src/Cargo.toml" >&2; then
          build_error[before]="cargo build of $before_commit failed"
        fi
      fi ;;
  esac
done

# ---------- helpers ----------
# Another run's server that works (more than 5% CPU over its life) or just
# started; one left idling does not disturb a measurement. $1: our server's PID.
other_servers() {
  local p
  for p in $(pgrep -f "$server_re"); do
    [ "$p" = "${1:-}" ] && continue
    { ps -o pid=,pcpu=,etimes=,args= -p "$p" 2>/dev/null || true; } | awk '$2 >= 5 || $3 < 120' | cut -c1-100
  done
}
heavy() { { pgrep -af "$busy" || true; other_servers "${1:-}"; } | head -1 | cut -c1-100; }

wait_quiet() { # until nothing heavy runs; 1 when it still does after 30 minutes
  local waited=0
  while [ -n "$(heavy)" ]; do
    if [ "$waited" -ge 1800 ]; then
      echo "warning: still busy after 30 minutes, measuring anyway: $(heavy)" >&2
      return 1
    fi
    if [ "$waited" -eq 0 ]; then
      echo "waiting for other heavy jobs to end: $(heavy)" >&2
    fi
    sleep 30
    waited=$((waited + 30))
  done
  return 0
}

watch_disturbances() { # PID FILE: every 5 s, note heavy jobs and other servers (until killed)
  while sleep 5; do
    { pgrep -af "$busy" || true; } | head -1 | sed 's/^/heavy job: /' >>"$2"
    other_servers "$1" | head -1 | sed 's/^/another server: /' >>"$2"
  done
}

mem_available_mb() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

cell() { sed 's/|/\\|/g' | tr '\n' ' ' | sed 's/ *$//'; } # one table cell

last_line() { # the last non-empty line of a file, progress bars and colours stripped
  tr '\r' '\n' < "$1" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | grep -v '^[[:space:]]*$' | tail -1 | cut -c1-200 || true
}

# ---------- the runs ----------
notes=()
echo "| catalogue MB | heap after GC at baseline (MB) | tool | exit | wall s | pauses s (baseline/rounds) | target peak RSS MB | leakscope peak RSS MB | named | bytes/request | rounds | verdict |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for size in $sizes; do
  dir=$out/$size
  mkdir -p "$dir"
  old_space=$((size * 2 + 1024))
  for tool in $tools; do
    tag="$size MB, $tool"
    if [ -n "${build_error[$tool]:-}" ]; then
      echo "| $size | - | $tool | - | - | - | - | - | ${build_error[$tool]} | - | - | - |"
      continue
    fi
    disturbed=""
    wait_quiet || disturbed=" (busy machine)"
    case $tool in before|forced) factor=$before_factor ;; *) factor=$after_factor ;; esac
    force=()
    [ "$tool" = forced ] && force=(--force-snapshot)
    need=$((size * factor))
    avail=$(mem_available_mb)
    if [ "$need" -gt $((avail - reserve_mb)) ]; then
      why="skipped: needs about $need MB (${factor}× the catalogue), $avail MB available, $reserve_mb MB kept free"
      echo "$tag: $why" >&2
      echo "| $size | - | $tool | - | - | - | - | - | $why | - | - | - |"
      continue
    fi

    # The server, started here: $! is node itself.
    echo "$tag: starting the server (catalogue $size MB, --max-old-space-size=$old_space)…" >&2
    CATALOGUE_MB=$size PORT=0 node --max-old-space-size="$old_space" "$root/bench/bigheap-server.js" \
      >"$dir/server-$tool.out" 2>"$dir/server-$tool.err" &
    pid=$!
    port=""
    for _ in $(seq 1 1200); do # up to 10 minutes to build the catalogue
      port=$(sed -n '1s#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' "$dir/server-$tool.out")
      [ -n "$port" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if [ -z "$port" ]; then
      why="server did not start: $(last_line "$dir/server-$tool.err")"
      echo "$tag: $why" >&2
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      echo "| $size | - | $tool | - | - | - | - | - | $(cell <<<"$why") | - | - | - |"
      continue
    fi
    echo "$tag: $(last_line "$dir/server-$tool.err"); hunting with $budget budget…" >&2

    rm -rf "$dir/snapshots-$tool"
    : >"$dir/disturbances-$tool.txt"
    watch_disturbances "$pid" "$dir/disturbances-$tool.txt" &
    watcher=$!
    rc=0
    # timeout inside time: it stops leakscope itself, and time still reports.
    /usr/bin/time -f "%e %M" -o "$dir/time-$tool.txt" \
      timeout -k 30 "$timeout_s" "${bin[$tool]}" hunt --pid "$pid" --url "http://127.0.0.1:$port/" \
      --json --budget "$budget" --out "$dir/snapshots-$tool" "${force[@]}" \
      >"$dir/hunt-$tool.json" 2>"$dir/hunt-$tool.err" || rc=$?
    rm -rf "$dir/snapshots-$tool"
    kill "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
    if [ -s "$dir/disturbances-$tool.txt" ]; then
      disturbed+=" (disturbed)"
      seen="during the hunt, $(sort "$dir/disturbances-$tool.txt" | uniq -c | sort -rn | head -2 | awk '{ $1 = $1 "×"; print }' | paste -sd';')"
    else
      seen=""
    fi

    # The target: its peak RSS and whether it survived, then kill it.
    state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    if [ -n "$state" ] && [ "$state" != Z ]; then
      alive=1
      kill "$pid" 2>/dev/null || true
    else
      alive=0
    fi
    server_rc=0
    wait "$pid" 2>/dev/null || server_rc=$?
    if [ -n "$hwm_kb" ]; then target_mb=$((hwm_kb / 1024)); else target_mb="- (gone)"; fi
    if [ "$alive" = 0 ]; then
      fate="the server died during the hunt (exit status $server_rc$([ "$server_rc" -eq 137 ] && echo ': SIGKILL, the OOM killer?')): $(last_line "$dir/server-$tool.err")"
      target_mb="$target_mb (died)"
    else
      fate=""
    fi

    read -r wall kb < <(tail -1 "$dir/time-$tool.txt") || true
    leak_mb=$(( ${kb:-0} / 1024 ))
    j=$dir/hunt-$tool.json
    if [ "$rc" -le 1 ] && jq -e . "$j" >/dev/null 2>&1; then
      heap=$(jq -r '.baseline_memory.heap_used / 1048576 | floor' "$j")
      pauses=$(jq -r '[.baseline_snapshot_seconds, (.rounds[].snapshot_seconds)] | map(. * 10 | round / 10 | tostring) | join("/")' "$j")
      final=$(jq -r '[.notes[] | capture("one snapshot at the end to name the holders: the app stopped for (?<s>[0-9.]+) s") | .s] | first // empty' "$j")
      [ -n "$final" ] && pauses="$pauses + final $final"
      named=$(jq -r '(.findings[0].holder // "no finding") | tostring' "$j" | cut -c1-160 | cell)
      bpr=$(jq -r '.findings[0].bytes_per_request // "-" | if type == "number" then round else . end' "$j")
      rounds=$(jq -r '.rounds | length' "$j")
      verdict=$(jq -r '.verdict + " (" + (.confidence | tostring) + ")"' "$j" | cell)
      sampled=$(jq -r '.sampled_because // empty' "$j")
      stopped=$(jq -r '.stopped_by // empty' "$j")
      snap_notes=$(jq -r '.notes[] | select(test("snapshot"; "i"))' "$j" | cut -c1-300)
    else
      heap="-"; pauses="-"; bpr="-"; rounds="-"; verdict="-"; sampled=""; stopped=""; snap_notes=""
      if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        named="timeout ($timeout_s s): $(last_line "$dir/hunt-$tool.err" | cell)"
      else
        named="error: $(last_line "$dir/hunt-$tool.err" | cell)"
      fi
    fi
    echo "| $size | $heap | $tool$disturbed | $rc | $wall | $pauses | $target_mb | $leak_mb | $named | $bpr | $rounds | $verdict |"
    echo "$tag: exit $rc in $wall s" >&2

    # Notes for after the table.
    note=""
    [ -n "$sampled" ] && note+=" sampled because: $sampled."
    [ -n "$stopped" ] && note+=" stopped by: $stopped."
    [ -n "$snap_notes" ] && note+=" notes: $(tr '\n' ';' <<<"$snap_notes" | sed 's/;$//')."
    [ -n "$fate" ] && note+=" $fate."
    [ -n "$seen" ] && note+=" $seen (polled every 5 s)."
    [ -n "$note" ] && notes+=("- $tag:$note")
  done
done
if [ "${#notes[@]}" -gt 0 ]; then
  echo
  printf '%s\n' "${notes[@]}"
fi
