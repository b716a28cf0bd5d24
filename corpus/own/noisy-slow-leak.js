// expect: leak
// holder: Array `timings`
// items: Timing
//
// A slow leak under a noisy heap: every request builds ~30 kB of short-lived
// report garbage and holds a ~4 kB session for a random 0–100 ms, so the
// heap after a mark-compact swings by half a megabyte from one GC to the
// next; and one request in 24 files a ~300-byte Timing into a module-level
// array that nothing trims (12 bytes a request): under `leakscope load -c
// 20` on two shared cores (5 000–9 000 req/s) the heap after mark-compact
// climbs 60–200 kB/s.
'use strict';
const http = require('node:http');

class Timing {
  constructor(url, ms) {
    this.url = url;
    this.ms = ms;
    this.note = `served ${url} in ${ms.toFixed(3)} ms `.repeat(8);
  }
}

const timings = [];
let served = 0;

function report(url) {
  const lines = [];
  for (let i = 0; i < 120; i++) lines.push({ n: i, text: `line ${i} of ${url}`, marks: [i, i + 1] });
  return lines.map((l) => `${l.n}|${l.text}|${l.marks.join('/')}`).join('\n').length;
}

function session(url) {
  const s = { url, rows: [] };
  for (let i = 0; i < 40; i++) s.rows.push({ i, key: `${url}:${i}` });
  setTimeout(() => s.rows.length, Math.random() * 100);
}

const server = http.createServer((req, res) => {
  const start = process.hrtime.bigint();
  const size = report(req.url);
  session(req.url);
  if (++served % 24 === 0) timings.push(new Timing(req.url, Number(process.hrtime.bigint() - start) / 1e6));
  res.end(`report of ${size} bytes\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
