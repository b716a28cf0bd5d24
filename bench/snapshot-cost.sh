#!/usr/bin/env bash
# bench/snapshot-cost.sh — measure what v8.writeHeapSnapshot() costs a live
# Node process (pause, extra RSS, file size) for heaps of several shapes and
# sizes, and fit a cost model a tool can evaluate BEFORE snapshotting from
# heapUsed / v8.getHeapSpaceStatistics().
#
#   bench/snapshot-cost.sh                         # 5 shapes × sizes 50 200 500 (+1000 for small)
#   SIZES="50 200" SHAPES="small mixed" bench/snapshot-cost.sh
#   SMALL_EXTRA= bench/snapshot-cost.sh            # no extra 1000 MB run for `small`
#   bench/snapshot-cost.sh --report FILE.jsonl     # table + fit from earlier results
#   RESULTS=FILE.jsonl SHAPES=dense bench/snapshot-cost.sh   # add to earlier results
#
# One measurement at a time; before each it waits (polling every 30 s, up to
# 40 minutes) until no CI run / cargo test is running. A run is skipped when
# its predicted peak (heap + extra, extrapolated from the smaller sizes of the
# same shape, or 30× heap when nothing is known) would not fit in MemAvailable
# minus RESERVE_MB. Snapshots go to target/bench/snapshot-cost/ and are deleted
# after each measurement; results go to target/bench/snapshot-cost/results-*.jsonl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench/snapshot-cost
node=${NODE:-node}
mkdir -p "$out"

report() { # results.jsonl
  "$node" - "$1" <<'EOF'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map(JSON.parse);
if (!rows.length) { console.log('no results'); process.exit(0); }
const M = 1024 * 1024;
const f = (x, d = 0) => Number.isFinite(x) ? x.toFixed(d) : '–';
const order = { small: 0, strings: 1, arrays: 2, mixed: 3, dense: 4 };
rows.sort((a, b) => order[a.shape] - order[b.shape] || a.heap_used - b.heap_used);

console.log(`Node ${rows[0].node_version}; MB = MiB; extra RSS = peak RSS during the snapshot − RSS before it.\n`);
console.log('| shape | heap_used MB | old / large-object MB | nodes | edges | pause s | file MB | extra RSS MB | extra/heap | extra B/node | pause s/100 MB heap | pause s/M nodes | file/heap |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.shape} | ${f(r.heap_used / M)} | ${f(r.old_space_used / M)} / ${f(r.large_object_used / M)} | ${(r.nodes / 1e6).toFixed(2)} M | ${(r.edges / 1e6).toFixed(2)} M | ${f(r.pause_seconds, 2)} | ${f(r.file_bytes / M)} | ${f(r.extra_rss / M)} | ${f(r.extra_rss / r.heap_used, 2)} | ${f(r.extra_rss / r.nodes)} | ${f(r.pause_seconds / (r.heap_used / M) * 100, 2)} | ${f(r.pause_seconds / (r.nodes / 1e6), 2)} | ${f(r.file_bytes / r.heap_used, 2)} |`);
}

// ---- models: y ≈ a·old + b·lo (+ c); old/lo = old_space/large_object_space used MB ----
function gauss(A, b) {
  const n = b.length, m = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c; for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    if (Math.abs(m[c][c]) < 1e-12) return null;
    for (let r = 0; r < n; r++) if (r !== c) { const k = m[r][c] / m[c][c]; for (let j = c; j <= n; j++) m[r][j] -= k * m[c][j]; }
  }
  return m.map((r, i) => r[n] / r[i]);
}
// ordinary least squares (absolute errors: the big heaps dominate)
function leastSquares(A, y) {
  const n = A[0].length, AtA = Array.from({ length: n }, () => Array(n).fill(0)), Aty = Array(n).fill(0);
  A.forEach((row, i) => { const w = 1; row.forEach((v, j) => { Aty[j] += w * v * y[i]; row.forEach((u, k) => { AtA[j][k] += w * v * u; }); }); });
  return gauss(AtA, Aty);
}
// least upper bound: minimise Σ pred_i / max(y_i, floor) subject to pred_i ≥ y_i
// and coefficients ≥ 0 — a tiny LP, solved by enumerating its vertices.
function upperBound(A, y, floor) {
  const n = A[0].length;
  const cons = A.map((row, i) => ({ row, rhs: y[i] }));
  for (let j = 0; j < n; j++) cons.push({ row: A[0].map((_, k) => (k === j ? 1 : 0)), rhs: 0 });
  const obj = Array(n).fill(0); A.forEach((row, i) => row.forEach((v, j) => { obj[j] += v / Math.max(y[i], floor); }));
  let best = null, bestV = Infinity;
  const pick = (start, chosen) => {
    if (chosen.length === n) {
      const x = gauss(chosen.map((c) => c.row), chosen.map((c) => c.rhs));
      if (!x || !cons.every((c) => c.row.reduce((s, v, j) => s + v * x[j], 0) >= c.rhs - 1e-6 * (1 + Math.abs(c.rhs)))) return;
      const v = obj.reduce((s, o, j) => s + o * x[j], 0);
      if (v < bestV) { bestV = v; best = x; }
      return;
    }
    for (let i = start; i < cons.length; i++) pick(i + 1, [...chosen, cons[i]]);
  };
  pick(0, []);
  return best;
}
const vars = (r) => [r.old_space_used / M, r.large_object_used / M];
function describe(name, x, withC, sel, get, floor, unit) {
  const pts = rows.filter(sel);
  const pred = (r) => vars(r).concat(withC ? [1] : []).reduce((s, v, j) => s + v * x[j], 0);
  let under = 0, underAt = null, over = 0, overAt = null;
  const perShape = {};
  for (const r of rows) {
    const y = get(r), p = pred(r), e = (p - y) / Math.max(y, floor);
    if (!sel(r)) continue;
    if (e < under) { under = e; underAt = r; }
    if (e > over) { over = e; overAt = r; }
    (perShape[r.shape] ||= []).push(e);
  }
  const at = (r) => r ? ` (${r.shape} ${(r.heap_used / M).toFixed(0)} MB)` : '';
  const terms = [`${x[0].toFixed(3)}·old`, `${x[1].toFixed(3)}·lo`].concat(withC ? [`${x[2].toFixed(0)}`] : []).join(' + ');
  console.log(`- **${name}**: ${terms} ${unit}`);
  console.log(`  worst under-estimate ${(under * 100).toFixed(0)}%${at(underAt)}, worst over-estimate +${(over * 100).toFixed(0)}%${at(overAt)}; per shape ` +
    Object.entries(perShape).map(([s, es]) => `${s} ${es.map((e) => (e >= 0 ? '+' : '') + (e * 100).toFixed(0) + '%').join('/')}`).join(', '));
}
const MEM_FLOOR = 64, PAUSE_FLOOR = 0.5; // relative errors are taken against max(y, floor)
const shapesIn = [...new Set(rows.map((r) => r.shape))];
const sets = [['all shapes', () => true]];
if (shapesIn.includes('dense')) sets.push(['without dense', (r) => r.shape !== 'dense']);
console.log(`\nModels (old = old_space used MB, lo = large_object_space used MB, read with v8.getHeapSpaceStatistics() before the snapshot; relative errors against max(measured, ${MEM_FLOOR} MB / ${PAUSE_FLOOR} s)):\n`);
for (const [label, sel] of sets) {
  const pts = rows.filter(sel);
  const A3 = pts.map((r) => [...vars(r), 1]), A2 = pts.map(vars);
  const ex = pts.map((r) => r.extra_rss / M), pa = pts.map((r) => r.pause_seconds);
  const fits = [
    ['extra RSS, upper bound, ' + label, upperBound(A3, ex, MEM_FLOOR), true, (r) => r.extra_rss / M, MEM_FLOOR, 'MB'],
    ['extra RSS, least squares, ' + label, leastSquares(A3, ex), true, (r) => r.extra_rss / M, MEM_FLOOR, 'MB'],
    ['pause, upper bound, ' + label, upperBound(A2, pa, PAUSE_FLOOR), false, (r) => r.pause_seconds, PAUSE_FLOOR, 's'],
    ['pause, least squares, ' + label, leastSquares(A2, pa), false, (r) => r.pause_seconds, PAUSE_FLOOR, 's'],
  ];
  for (const [name, x, withC, get, floor, unit] of fits) if (x) describe(name, x, withC, sel, get, floor, unit);
}
console.log('\nPer shape (largest size measured):\n');
for (const s of Object.keys(order)) {
  const rs = rows.filter((r) => r.shape === s); if (!rs.length) continue;
  const r = rs[rs.length - 1];
  console.log(`- ${s}: extra/heap ${(r.extra_rss / r.heap_used).toFixed(2)}, extra/old ${(r.extra_rss / r.old_space_used).toFixed(2)}, nodes per MB heap ${(r.nodes / (r.heap_used / M)).toFixed(0)}, extra per node ${(r.extra_rss / r.nodes).toFixed(0)} B, file/heap ${(r.file_bytes / r.heap_used).toFixed(2)}, file per node ${(r.file_bytes / r.nodes).toFixed(0)} B, pause ${(r.pause_seconds / (r.heap_used / M) * 100).toFixed(2)} s/100 MB`);
}
EOF
}

if [ "${1:-}" = "--report" ]; then report "$2"; exit 0; fi

wait_idle() {
  local waited=0
  while pgrep -f '.ci/run|cargo test|target/release/deps/' >/dev/null; do
    if [ "$waited" -ge 2400 ]; then echo "CI/cargo test still running after 40 minutes; giving up" >&2; exit 3; fi
    [ "$waited" -eq 0 ] && echo "waiting for CI / cargo test to finish…" >&2
    sleep 30; waited=$((waited + 30))
  done
}

sizes=${SIZES:-"50 200 500"}
shapes=${SHAPES:-"small strings arrays mixed dense"}
small_extra=${SMALL_EXTRA-1000}
reserve=${RESERVE_MB:-3000}
results=${RESULTS:-$out/results-$(date +%Y%m%d-%H%M%S).jsonl} # RESULTS=FILE appends to FILE
touch "$results"
declare -A ratio # shape → largest measured (peak RSS / heap_used)

for shape in $shapes; do
  list=$sizes
  [ "$shape" = small ] && [ -n "$small_extra" ] && list="$sizes $small_extra"
  for mb in $list; do
    avail=$(awk '/^MemAvailable:/ {print int($2/1024)}' /proc/meminfo)
    r=${ratio[$shape]:-30}
    need=$(awk -v mb="$mb" -v r="$r" 'BEGIN {print int(mb * (r * 1.3 + 1.5) + 200)}')
    if [ "$need" -gt $((avail - reserve)) ]; then
      echo "skip $shape $mb MB: predicted peak ${need} MB > MemAvailable ${avail} MB − reserve ${reserve} MB" >&2
      continue
    fi
    wait_idle
    echo "measuring $shape $mb MB (predicted peak ≤ ${need} MB, MemAvailable ${avail} MB)…" >&2
    heap_limit=$((mb * 3 + 1024))
    if line=$("$node" --expose-gc --max-old-space-size=$heap_limit "$root/bench/snapshot-cost.js" "$shape" "$mb" "$out"); then
      echo "$line" >>"$results"
      ratio[$shape]=$(echo "$line" | "$node" -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log((r.peak_rss/r.heap_used).toFixed(2))')
      echo "$line" | "$node" -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")); const M=1048576; console.error(`  heap ${(r.heap_used/M).toFixed(0)} MB, ${(r.nodes/1e6).toFixed(2)} M nodes, pause ${r.pause_seconds} s, file ${(r.file_bytes/M).toFixed(0)} MB, extra RSS ${(r.extra_rss/M).toFixed(0)} MB`)'
    else
      echo "  $shape $mb MB failed (exit $?)" >&2
      ratio[$shape]=1000 # don't try larger sizes of this shape
    fi
    rm -f "$out"/*.heapsnapshot
  done
done

echo "results: $results" >&2
report "$results"
