#!/usr/bin/env node
'use strict';
// bigheap-server.js — an HTTP server with a production-sized heap and a slow,
// steady leak, for `leakscope hunt` on big heaps (bench/bigheap-hunt.sh).
//
//   CATALOGUE_MB=650 PORT=0 node --max-old-space-size=2048 bench/bigheap-server.js
//
// First builds a static catalogue of about CATALOGUE_MB (default 650) MB of
// small objects: a module-level Map `catalogue` of Product objects (an id, a
// sku and a title string, a price, a stock count and a small tags array of
// shared words): about 290 B per Product with its strings, its array and its
// Map entry, so 650 MB are ~2.4 M Products, ~14 M heap objects. Then listens
// on 127.0.0.1:PORT (PORT=0 or unset: any free port) and prints `listening on
// http://127.0.0.1:PORT` as its first stdout line. The catalogue's size (heap
// used after a full GC) goes to stderr.
//
// Leak: every request pushes one AuditEntry (a sequence number, a timestamp,
// the request's path and method, a user and a request id, and a ~150-char
// message built per request) into the module-level array `auditTrail`, which
// only grows: about 360 B per request (SIGTERM prints the measured figure).
// The answer is a few bytes. A seeded PRNG drives everything, so two runs
// build the same catalogue.

const http = require('node:http');
const v8 = require('node:v8');
const vm = require('node:vm');

const catalogueMb = Number(process.env.CATALOGUE_MB || 650);
const port = Number(process.env.PORT || 0);
if (!Number.isFinite(catalogueMb) || catalogueMb <= 0) {
  console.error('CATALOGUE_MB must be a positive number of megabytes');
  process.exit(2);
}

// A full GC to measure the catalogue, without --expose-gc (which would leave
// a global `gc` behind in the target).
v8.setFlagsFromString('--expose-gc');
const fullGc = vm.runInNewContext('gc');

// ---------- deterministic PRNG ----------
let seed = 0x5eed1e55 >>> 0;
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
function randWord(len) { // a flat (sequential) string
  codes.length = len;
  for (let i = 0; i < len; i++) codes[i] = 97 + ri(26);
  return String.fromCharCode.apply(null, codes);
}
const mb = (bytes) => (bytes / 1048576).toFixed(1);

// ---------- the static catalogue ----------
const ADJ = ['classic', 'compact', 'deluxe', 'eco', 'ergonomic', 'rugged',
  'lightweight', 'modern', 'portable', 'premium', 'smart', 'vintage'];
const NOUN = ['backpack', 'blender', 'chair', 'lamp', 'headphones', 'kettle',
  'keyboard', 'monitor', 'mug', 'notebook', 'speaker', 'tent', 'umbrella', 'watch'];
const TAGS = ['new', 'sale', 'bestseller', 'eco', 'gift', 'limited', 'outdoor',
  'office', 'kitchen', 'travel', 'kids', 'refurbished'];

class Product {
  constructor(id) {
    this.id = id;
    this.sku = 'SKU-' + String(id).padStart(8, '0');  // 12 chars: a flat string
    this.title = pick(ADJ) + ' ' + pick(NOUN);          // a short string per product
    this.price = (100 + ri(50000)) / 100 + 0.001;       // a double: a HeapNumber
    this.stock = ri(10000);
    const n = ri(3);                                    // 1-3 shared words, an exact-size array
    this.tags = n === 0 ? [pick(TAGS)] : n === 1 ? [pick(TAGS), pick(TAGS)]
      : [pick(TAGS), pick(TAGS), pick(TAGS)];
  }
}

const catalogue = new Map(); // sku -> Product: static, never changes after the build

function buildCatalogue(targetBytes) {
  let id = 0;
  for (;;) {
    for (let i = 0; i < 10000; i++) {
      const p = new Product(id++);
      catalogue.set(p.sku, p);
    }
    // heapUsed counts the build's garbage too: at the target, collect and
    // go on until what is live reaches it.
    if (process.memoryUsage().heapUsed >= targetBytes) {
      fullGc();
      if (process.memoryUsage().heapUsed >= targetBytes * 0.99) break;
    }
  }
}

// ---------- the leak ----------
const PATHS = ['/api/products', '/api/cart', '/api/orders', '/api/search', '/'];
class AuditEntry {
  constructor(seq, method, path) {
    this.seq = seq;
    this.at = Date.now();
    this.method = method;
    this.path = path;
    this.user = 'user' + ri(50000);
    this.requestId = randWord(16);
    // ~150 chars, unique per request; join() makes one flat string, as a
    // logger's formatter would (a template literal leaves a cons-string tree).
    this.message = ['[audit ', String(seq).padStart(9, '0'), '] ', method, ' ', path,
      ' user=', this.user, ' id=', this.requestId, ' session=', randWord(24), ' ip=10.', ri(256), '.', ri(256),
      '.', ri(256), ' agent=Mozilla/5.0 (X11; Linux x86_64) status=200 ok'].join('');
  }
}
const auditTrail = []; // module-level, only ever grows: the leak
let seq = 0;

// ---------- run ----------
const t0 = Date.now();
buildCatalogue(catalogueMb * 1048576);
fullGc();
const heap = process.memoryUsage();
console.error(`catalogue: ${catalogue.size} products, heap used ${mb(heap.heapUsed)} MB ` +
  `(heap total ${mb(heap.heapTotal)} MB, RSS ${mb(heap.rss)} MB) after a full GC, ` +
  `built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const server = http.createServer((req, res) => {
  seq++;
  auditTrail.push(new AuditEntry(seq, req.method, req.url || pick(PATHS)));
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok\n');
});
server.keepAliveTimeout = 30000;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    fullGc();
    const used = process.memoryUsage().heapUsed;
    console.error(`${sig}: ${auditTrail.length} audit entries, heap used ${mb(used)} MB after a full GC ` +
      `(${auditTrail.length ? Math.round((used - heap.heapUsed) / auditTrail.length) : 0} B per entry over the catalogue)`);
    process.exit(0);
  });
}
