#!/usr/bin/env node
'use strict';
// leak-triplet.js — build a static, "realistic" Node.js heap of about HEAP_MB
// megabytes, run a steady leak on top of it, and write three heap snapshots of
// the same process (oldest first), for find-leaks benchmarks.
//
// usage: node bench/leak-triplet.js OUT_DIR HEAP_MB
//
// writes OUT_DIR/s1.heapsnapshot, s2.heapsnapshot, s3.heapsnapshot and prints
// the heap size at each. Re-executes itself with --expose-gc and a big enough
// --max-old-space-size when run without them.
//
// Static heap: a module-level Map `catalogue` of Product objects (a few string
// and number fields, a tags array, a nested array of Variant objects, a small
// dimensions object), plus categories that index into it.
//
// Leak: a timer adds AuditEntry objects (a ~150-char unique string and a
// closure over the entry's data) to the module-level array `auditTrail`, a
// batch per tick. Churn: every tick also builds short-lived request objects and
// JSON strings, and overwrites a fixed-size ring buffer `recentRequests`
// (objects there are replaced, never accumulate: a distractor, not a leak).
//
// The snapshots are taken after global.gc() at equal amounts of leak work:
// s1 after a warm-up (a short calibration, then STEP ticks), s2 and s3 after
// STEP more ticks each. STEP is chosen so that the growth between snapshots is
// LEAK_MB (env, default max(2, HEAP_MB / 100)) MB of AuditEntry objects.
// Everything is driven by a seeded PRNG.
//
// Cost on node 20 (2 cores): 50 MB → 84-91 MB snapshots in 15 s; 300 MB →
// 462-472 MB in 2 min (3 GB peak RSS); 1000 MB → 1.6 GB snapshots in 8 min
// (10 GB peak RSS: writeHeapSnapshot's own memory, outside the JS heap).

const fs = require('fs');
const path = require('path');
const v8 = require('v8');

const outDir = process.argv[2];
const heapMb = Number(process.argv[3]);
if (!outDir || !Number.isFinite(heapMb) || heapMb <= 0) {
  console.error('usage: node leak-triplet.js OUT_DIR HEAP_MB');
  process.exit(2);
}

// Re-exec with the flags we need, so `node leak-triplet.js …` just works.
if (typeof global.gc !== 'function') {
  const { spawnSync } = require('child_process');
  const oldSpace = Math.max(4096, Math.ceil(heapMb * 3));
  const r = spawnSync(process.execPath,
    ['--expose-gc', `--max-old-space-size=${oldSpace}`, __filename, ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

// ---------- deterministic PRNG ----------
let seed = 0x1eaf5eed >>> 0;
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rand() * n);
const pick = (arr) => arr[ri(arr.length)];
const codes = [];
function randWord(len) { // a flat (sequential) string, not a tree of cons strings
  codes.length = len;
  for (let i = 0; i < len; i++) codes[i] = 97 + ri(26);
  return String.fromCharCode.apply(null, codes);
}
const mb = (bytes) => (bytes / 1048576).toFixed(1);

// ---------- vocabulary ----------
const ADJ = ['classic', 'compact', 'deluxe', 'eco', 'ergonomic', 'heavy-duty',
  'lightweight', 'modern', 'portable', 'premium', 'rugged', 'smart', 'vintage'];
const NOUN = ['backpack', 'blender', 'chair', 'desk lamp', 'headphones', 'kettle',
  'keyboard', 'monitor', 'mug', 'notebook', 'speaker', 'tent', 'umbrella', 'watch'];
const COLORS = ['black', 'white', 'red', 'blue', 'green', 'grey', 'navy', 'olive'];
const SIZES = ['XS', 'S', 'M', 'L', 'XL'];
const TAGS = ['new', 'sale', 'bestseller', 'eco', 'gift', 'limited', 'outdoor',
  'office', 'kitchen', 'travel', 'kids', 'refurbished'];
const ACTIONS = ['login', 'logout', 'view', 'add-to-cart', 'checkout', 'refund',
  'update-profile', 'reset-password', 'search', 'export'];
const PATHS = ['/api/products', '/api/cart', '/api/orders', '/api/search',
  '/api/users/me', '/health', '/api/recommendations'];

// ---------- static heap: the catalogue ----------
class Variant {
  constructor(sku, k) {
    this.sku = sku + '-' + k;
    this.color = pick(COLORS);
    this.size = pick(SIZES);
    this.stock = ri(500);
  }
}
class Product {
  constructor(id) {
    this.id = id;
    this.sku = 'SKU-' + String(id).padStart(8, '0');
    this.title = pick(ADJ) + ' ' + pick(NOUN) + ' ' + randWord(6);
    this.price = Math.round(rand() * 50000) / 100;
    this.rating = Math.round(rand() * 50) / 10;
    this.stock = ri(10000);
    this.tags = [];
    for (let i = ri(4); i > 0; i--) this.tags.push(pick(TAGS));
    this.dims = { w: ri(100), h: ri(100), d: ri(100), unit: 'cm' };
    this.variants = [];
    for (let k = 1 + ri(3); k > 0; k--) this.variants.push(new Variant(this.sku, k));
  }
}

const catalogue = new Map();      // sku -> Product
const categories = new Map();     // noun -> [Product]
function buildCatalogue(targetBytes) {
  let id = 0;
  for (;;) {
    for (let i = 0; i < 5000; i++) {
      const p = new Product(id++);
      catalogue.set(p.sku, p);
      const noun = NOUN[id % NOUN.length];
      let list = categories.get(noun);
      if (!list) categories.set(noun, (list = []));
      list.push(p);
    }
    // The build allocates almost no garbage, so heapUsed is close to live.
    if (process.memoryUsage().heapUsed >= targetBytes) break;
  }
}

// ---------- the leak ----------
class AuditEntry {
  constructor(seq, user, action) {
    this.seq = seq;
    this.user = user;
    this.action = action;
    this.at = 1700000000000 + seq * 37;
    // ~150 chars, unique per entry; join() makes one flat string, as a
    // logger's formatter would (a template literal leaves a cons-string tree).
    this.message = ['[audit ', String(seq).padStart(9, '0'), '] user=', user,
      ' action=', action, ' session=', randWord(24), ' ip=10.', ri(256), '.', ri(256),
      '.', ri(256), ' agent=Mozilla/5.0 (X11; Linux x86_64) ok'].join('');
    const prefix = [user, action].join(':');
    this.describe = () => prefix + ' #' + seq; // a closure (and its Context) per entry
  }
}
const auditTrail = []; // module-level, only ever grows: the leak

// ---------- churn ----------
const RING = 2000;
const recentRequests = new Array(RING).fill(null); // replaced, never accumulates
let ringPos = 0;
let churnSink = 0;
function churn(n) {
  for (let i = 0; i < n; i++) {
    const req = {
      method: pick(['GET', 'POST', 'PUT']),
      path: pick(PATHS) + '?q=' + randWord(8),
      headers: { 'x-request-id': randWord(16), 'content-type': 'application/json' },
      body: JSON.stringify({ items: [ri(1000), ri(1000), ri(1000)], note: randWord(20) }),
    };
    churnSink += JSON.parse(req.body).items.length; // garbage
    if (i % 8 === 0) recentRequests[ringPos++ % RING] = req;
  }
}

// ---------- run ----------
const leakMbPerStep = Number(process.env.LEAK_MB) || Math.max(2, heapMb / 100);
const BATCH = 100; // AuditEntry objects per tick
let STEP = 0;      // ticks between snapshots, from a calibration run (below)

fs.mkdirSync(outDir, { recursive: true });
const t0 = Date.now();
buildCatalogue(heapMb * 1048576);
churn(RING * 8); // fill the ring buffer, so that it no longer grows
global.gc();
const catalogueHeap = process.memoryUsage().heapUsed;

let seq = 0;
let ticks = 0;
let shot = 0;
function leakTick() {
  for (let i = 0; i < BATCH; i++) {
    seq++;
    auditTrail.push(new AuditEntry(seq, 'user' + ri(5000), pick(ACTIONS)));
  }
  churn(200);
  ticks++;
}
// Calibrate: how many bytes does one tick leak? (The ticks count towards s1.)
const CAL = 50;
for (let i = 0; i < CAL; i++) leakTick();
global.gc();
const perTick = Math.max(1, (process.memoryUsage().heapUsed - catalogueHeap) / CAL);
STEP = Math.max(1, Math.round(leakMbPerStep * 1048576 / perTick));
console.log(`catalogue: ${catalogue.size} products, heap ${mb(catalogueHeap)} MB ` +
  `(${((Date.now() - t0) / 1000).toFixed(1)} s); leak ${Math.round(perTick / BATCH)} B per AuditEntry, ` +
  `${leakMbPerStep} MB per step = ${STEP} ticks x ${BATCH} entries`);

function tick() {
  leakTick();
  // s1 after CAL + STEP ticks (the leak is already running), s2, s3 after STEP more each
  if ((ticks - CAL) % STEP !== 0) return;
  shot++;
  const file = path.join(outDir, `s${shot}.heapsnapshot`);
  global.gc();
  const heap = process.memoryUsage().heapUsed;
  const t = Date.now();
  v8.writeHeapSnapshot(file);
  console.log(`${file}: heap ${mb(heap)} MB, auditTrail ${auditTrail.length} entries, ` +
    `snapshot ${mb(fs.statSync(file).size)} MB in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  if (shot === 3) {
    clearInterval(timer);
    if (churnSink < 0) console.log(churnSink); // keep the churn observable
  }
}
const timer = setInterval(tick, 1);
