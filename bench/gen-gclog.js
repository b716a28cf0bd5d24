// bench/gen-gclog.js OUT MB — writes a `--trace-gc` log of about MB
// megabytes: two leaking processes interleaved (modern format), scavenges
// every few ms, a Mark-Compact every 200 GCs, one app output line in 50.
'use strict';
const fs = require('node:fs');
const [out, mb] = [process.argv[2], Number(process.argv[3] || 1024)];
const fd = fs.openSync(out, 'w');
const target = mb * 1024 * 1024;
let written = 0;
let n = 0;
const procs = [
  { pid: 22700, iso: '0x3c4a5c00', t: 500, heap: 4.0 },
  { pid: 22711, iso: '0x1f398c00', t: 700, heap: 6.0 },
];
while (written < target) {
  const lines = [];
  for (let i = 0; i < 10000; i++) {
    const p = procs[n & 1];
    n++;
    p.t += 3 + (n % 7);
    p.heap += 0.0004;
    const h = p.heap.toFixed(1);
    if (n % 50 === 0) lines.push(`GET /api/items?id=${n} 200 ${n % 13} ms`);
    if (n % 200 === 0) {
      lines.push(`[${p.pid}:${p.iso}] ${String(p.t).padStart(8)} ms: Mark-Compact ${(p.heap + 5).toFixed(1)} (${(p.heap + 20).toFixed(1)}) -> ${h} (${(p.heap + 20).toFixed(1)}) MB, ${(2 + (n % 9)).toFixed(2)} / 0.00 ms  (+ 4.6 ms in 31 steps since start of marking, biggest step 1.4 ms, walltime since start of marking 13 ms) (average mu = 0.990, current mu = 0.980) finalize incremental marking via task; GC in old space requested`);
    } else {
      lines.push(`[${p.pid}:${p.iso}] ${String(p.t).padStart(8)} ms: Scavenge ${(p.heap + 3).toFixed(1)} (${(p.heap + 8).toFixed(1)}) -> ${h} (${(p.heap + 8).toFixed(1)}) MB, ${(0.3 + (n % 11) / 10).toFixed(2)} / 0.00 ms  (average mu = 1.000, current mu = 1.000) task; `);
    }
  }
  const chunk = lines.join('\n') + '\n';
  fs.writeSync(fd, chunk);
  written += Buffer.byteLength(chunk);
}
fs.closeSync(fd);
console.log(`wrote ${out}: ${(written / 1048576).toFixed(0)} MB, ${n} GC lines`);
