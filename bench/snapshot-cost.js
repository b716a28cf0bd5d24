// bench/snapshot-cost.js SHAPE MB [OUTDIR] — what does v8.writeHeapSnapshot()
// cost a live process? Builds a heap of about MB megabytes (heapUsed) of one
// SHAPE, collects garbage, records what a tool could read cheaply beforehand
// (heapUsed, v8.getHeapSpaceStatistics(), RSS), then writes a heap snapshot and
// measures the pause, the file, its node/edge counts and the peak RSS while
// V8 built and wrote it. Prints one JSON line on stdout.
//
//   node --expose-gc --max-old-space-size=4096 bench/snapshot-cost.js small 200
//
// SHAPE: small   many small objects in a Map (a product catalogue)
//        strings fewer large strings (1–10 KB) in an array
//        arrays  large plain arrays of doubles and of small ints, plus
//                Float64Arrays (their backing stores are off-heap: reported
//                as array_buffers, not part of heapUsed)
//        mixed   a third of each of the above, plus closures and class instances
//        dense   worst case found so far: ONE huge plain array whose elements
//                are tiny distinct heap objects (boxed doubles and short unique
//                strings). V8's snapshot generator costs ~1.5 KB of RSS per
//                element of a container with ~1 M+ elements, against ~300–500
//                B per node when the same objects sit in containers of ≤ 20 k.
//
// Peak RSS is measured two ways: (1) VmHWM after the snapshot, with the
// high-water mark reset just before it (echo 5 > /proc/self/clear_refs), and
// (2) a separate sampler process reading /proc/PID/status VmRSS every 20 ms.
// The sampler also guards the machine: if MemAvailable falls under
// GUARD_MB (default 1500) it SIGKILLs this process and says so on stderr.
// The snapshot file is deleted after measuring unless KEEP=1.
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');
const { spawn } = require('child_process');

const [shape, mbArg, outArg] = process.argv.slice(2);
const SHAPES = ['small', 'strings', 'arrays', 'mixed', 'dense'];
if (!SHAPES.includes(shape) || !(Number(mbArg) > 0)) {
  console.error(`usage: node --expose-gc --max-old-space-size=N ${path.basename(__filename)} ${SHAPES.join('|')} MB [OUTDIR]`);
  process.exit(2);
}
if (typeof global.gc !== 'function') {
  console.error('run with --expose-gc');
  process.exit(2);
}
const target = Number(mbArg) * 1024 * 1024;
const outDir = outArg || path.join(__dirname, '..', 'target', 'bench', 'snapshot-cost');
fs.mkdirSync(outDir, { recursive: true });
const MB = 1024 * 1024;

// ---- deterministic pseudo-random numbers (xorshift32) ----
let seed = 0x9e3779b9;
function rnd() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 0x100000000;
}

// ---- shape builders: each call adds one batch to `keep` ----
const keep = { catalogue: new Map(), texts: [], arrays: [], orders: [], handlers: [] };
globalThis.__snapshotCostKeep = keep;

// 1000 distinct tag strings, shared between products (as in a real catalogue)
const TAGS = Array.from({ length: 1000 }, (_, i) => `tag-${i.toString(36)}-${(i * 7919 % 1000).toString(36)}`);
let nextId = 0;
function addSmall(n) {
  const m = keep.catalogue;
  for (let k = 0; k < n; k++) {
    const id = nextId++;
    m.set(id, {
      id,
      name: 'product-' + id.toString(36), // a fresh short string each
      price: Math.round(rnd() * 100000) / 100 + 0.01, // a double (HeapNumber)
      tags: [TAGS[id % 1000], TAGS[(id * 31 + 7) % 1000]],
    });
  }
}

// A 16 MB pool of random lowercase letters; strings are latin1 slices of it
// (flat sequential one-byte strings on the V8 heap, 1–10 KB each).
const POOL = Buffer.alloc(16 * MB);
for (let i = 0; i < POOL.length; i++) POOL[i] = 97 + Math.floor(rnd() * 26);
function addStrings(n) {
  for (let k = 0; k < n; k++) {
    const len = 1024 + Math.floor(rnd() * 9 * 1024);
    const off = Math.floor(rnd() * (POOL.length - len));
    keep.texts.push(POOL.toString('latin1', off, off + len));
  }
}

const ARRAY_LEN = 65536; // 512 KB of elements: each goes to large-object space
function addArrays(n) {
  for (let k = 0; k < n; k++) {
    const d = new Array(ARRAY_LEN); // PACKED_DOUBLE_ELEMENTS after filling
    for (let i = 0; i < ARRAY_LEN; i++) d[i] = i + 0.5 + rnd();
    const s = new Array(ARRAY_LEN); // PACKED_SMI_ELEMENTS
    for (let i = 0; i < ARRAY_LEN; i++) s[i] = (i * 2654435761) & 0xffff;
    const f = new Float64Array(ARRAY_LEN); // backing store off-heap
    for (let i = 0; i < ARRAY_LEN; i += 97) f[i] = rnd();
    // some medium arrays (1000 doubles = 8 KB) that stay in old space
    const m = [];
    for (let j = 0; j < 16; j++) {
      const a = [];
      for (let i = 0; i < 1000; i++) a.push(i * 1.5 + j);
      m.push(a);
    }
    keep.arrays.push(d, s, f, m);
  }
}

class Order {
  constructor(id, customer) {
    this.id = id;
    this.customer = customer;
    this.createdAt = new Date(1700000000000 + id * 1000);
    this.lines = [{ sku: 'sku-' + (id % 5000), qty: 1 + (id % 3) }];
    this.status = id % 2 ? 'open' : 'closed';
  }
  total() { return this.lines.length; }
}
function addClosures(n) {
  for (let k = 0; k < n; k++) {
    const id = nextId++;
    const order = new Order(id, 'customer-' + (id % 100000));
    const state = { hits: 0, last: null };
    // a closure over a context holding `order` and `state`
    keep.handlers.push(function onEvent(e) { state.hits++; state.last = e; return order.total(); });
    keep.orders.push(order);
  }
}

function addMixed(round) {
  addSmall(3000);
  addClosures(1500);
  addStrings(100); // ~550 KB
  if (round % 2 === 0) addArrays(1); // ~1 MB on heap + 0.5 MB off-heap
}

const dense = [{}]; // {} first: PACKED_ELEMENTS, so doubles stay boxed
keep.dense = dense;
function addDense(n) {
  for (let k = 0; k < n; k++) {
    const i = nextId++;
    dense.push(i + 0.5, 'd' + i.toString(36)); // a HeapNumber and a short unique string
  }
}

const step = {
  small: () => addSmall(20000),
  strings: () => addStrings(200),
  arrays: () => addArrays(2),
  mixed: (r) => addMixed(r),
  dense: () => addDense(50000),
}[shape];

// ---- build ----
const t0 = process.hrtime.bigint();
for (let round = 0; process.memoryUsage().heapUsed < target; round++) step(round);
const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

global.gc();
global.gc();

function status() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const mu = process.memoryUsage();
const hs = v8.getHeapStatistics();
const spaces = {};
for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = s.space_used_size;
const spaceSizes = {};
for (const s of v8.getHeapSpaceStatistics()) spaceSizes[s.space_name] = s.space_size;
const before = status();

// ---- sampler: separate process, VmRSS every 20 ms, plus an OOM guard ----
const SAMPLER = `
const fs = require('fs');
const pid = Number(process.argv[1]);
const guard = Number(process.argv[2]) * 1024 * 1024;
let peak = 0, peakAt = 0, n = 0, killed = false, minAvail = Infinity;
const t0 = Date.now();
function tick() {
  let s;
  try { s = fs.readFileSync('/proc/' + pid + '/status', 'utf8'); } catch { return; }
  const rss = Number(s.match(/^VmRSS:\\s+(\\d+) kB/m)[1]) * 1024;
  n++;
  if (rss > peak) { peak = rss; peakAt = Date.now() - t0; }
  if (n % 5 === 0 || n === 1) {
    const m = fs.readFileSync('/proc/meminfo', 'utf8');
    const avail = Number(m.match(/^MemAvailable:\\s+(\\d+) kB/m)[1]) * 1024;
    if (avail < minAvail) minAvail = avail;
    if (avail < guard && !killed) {
      killed = true;
      process.stderr.write('snapshot-cost sampler: MemAvailable ' + (avail / 1048576).toFixed(0) + ' MB < guard, killing ' + pid + ' at RSS ' + (rss / 1048576).toFixed(0) + ' MB\\n');
      try { process.kill(pid, 'SIGKILL'); } catch {}
    }
  }
  if (n === 1) process.stdout.write('ready\\n');
}
tick();
const iv = setInterval(tick, 20);
process.stdin.on('data', () => {});
process.stdin.on('end', () => {
  clearInterval(iv); tick();
  process.stdout.write(JSON.stringify({ peak, peak_at_ms: peakAt, samples: n, min_mem_available: minAvail, killed }) + '\\n');
  process.exit(0);
});
`;

function startSampler() {
  const child = spawn(process.execPath, ['-e', SAMPLER, String(process.pid), String(process.env.GUARD_MB || 1500)],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise((resolve) => {
    child.stdout.on('data', (d) => { out += d; if (out.includes('ready\n')) resolve(); });
  });
  const done = new Promise((resolve) => child.on('exit', () => resolve(JSON.parse(out.split('\n').filter(Boolean).pop()))));
  return { ready, stop: () => { child.stdin.end(); return done; } };
}

function readHeader(file) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(16384);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  const head = buf.toString('utf8', 0, n);
  const num = (k) => Number((head.match(new RegExp(`"${k}":(\\d+)`)) || [])[1]);
  return { nodes: num('node_count'), edges: num('edge_count') };
}

(async () => {
  const sampler = startSampler();
  await sampler.ready;
  await new Promise((r) => setTimeout(r, 100)); // a few baseline samples

  const file = path.join(outDir, `${shape}-${mbArg}-${process.pid}.heapsnapshot`);
  fs.writeFileSync('/proc/self/clear_refs', '5'); // reset VmHWM to the current RSS
  const hwmReset = status();
  const t1 = process.hrtime.bigint();
  v8.writeHeapSnapshot(file);
  const pause = Number(process.hrtime.bigint() - t1) / 1e9;
  const after = status();
  const sampled = await sampler.stop();

  const fileBytes = fs.statSync(file).size;
  const { nodes, edges } = readHeader(file);
  if (process.env.KEEP !== '1') fs.unlinkSync(file);

  const peak = Math.max(after.hwm, sampled.peak);
  const oldUsed = spaces.old_space || 0;
  const loUsed = (spaces.large_object_space || 0) + (spaces.code_large_object_space || 0) + (spaces.new_large_object_space || 0);
  const r = {
    shape,
    target_mb: Number(mbArg),
    node_version: process.version,
    build_seconds: +buildSeconds.toFixed(2),
    heap_used: mu.heapUsed,
    heap_total: mu.heapTotal,
    external: mu.external,
    array_buffers: mu.arrayBuffers,
    total_heap_size: hs.total_heap_size,
    space_used: spaces,
    space_size: spaceSizes,
    old_space_used: oldUsed,
    large_object_used: loUsed,
    rss_before: before.rss,
    hwm_before_reset: before.hwm,
    rss_at_reset: hwmReset.rss,
    pause_seconds: +pause.toFixed(3),
    file_bytes: fileBytes,
    nodes,
    edges,
    hwm_after: after.hwm,
    rss_after: after.rss,
    sampled_peak: sampled.peak,
    sampled_peak_at_ms: sampled.peak_at_ms,
    samples: sampled.samples,
    min_mem_available: sampled.min_mem_available,
    peak_rss: peak,
    extra_rss: peak - before.rss,
  };
  process.stdout.write(JSON.stringify(r) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
