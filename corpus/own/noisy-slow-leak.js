// expect: leak
// holder: Array `timings`
// items: Timing
//
// A slow leak under a noisy heap. Every request builds ~30 kB of short-lived
// report garbage, holds a ~1 kB session for a random 0–100 ms, and keeps a
// ~1 kB summary in a ring of the last 2 000 (bounded: it only makes V8 run
// a mark-compact every second or two). The sessions alive at each
// mark-compact make the heap after it swing by a few hundred kB. And one
// request in 20 files a ~300-byte Timing into a module-level array that
// nothing trims: about 15 bytes a request. Under `leakscope load -c 20` on
// two shared cores (4 000–11 000 req/s) the heap after mark-compact climbs
// 60–160 kB/s: 1–3 MB in 20 s, on a heap of 6–7 MB, through swings of a few
// hundred kB.
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
const recent = new Array(2000);
let served = 0;

function report(url) {
  const lines = [];
  for (let i = 0; i < 120; i++) lines.push({ n: i, text: `line ${i} of ${url}`, marks: [i, i + 1] });
  return lines.map((l) => `${l.n}|${l.text}|${l.marks.join('/')}`).join('\n').length;
}

function session(url) {
  const s = { url, rows: [] };
  for (let i = 0; i < 10; i++) s.rows.push({ i, key: `${url}:${i}` });
  setTimeout(() => s.rows.length, Math.random() * 100);
}

const server = http.createServer((req, res) => {
  const start = process.hrtime.bigint();
  const size = report(req.url);
  session(req.url);
  served++;
  recent[served % recent.length] = `${req.url} ${size} `.repeat(60);
  if (served % 20 === 0) timings.push(new Timing(req.url, Number(process.hrtime.bigint() - start) / 1e6));
  res.end(`report of ${size} bytes\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
