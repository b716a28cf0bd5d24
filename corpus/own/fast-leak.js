// expect: leak
// holder: Array `history`
// items: Snapshot
//
// A fast leak: each request waits ~5 ms on a simulated backend, then files a
// Snapshot of what it served (300 rows and the rendered ~55 kB page, ~75 kB
// in all) into a module-level `history` that nothing trims. Two keep-alive
// connections make it leak about 20–30 MB/s; V8 then runs a full GC only
// every several seconds, the case where counting full GCs is too slow.
'use strict';
const http = require('node:http');

class Snapshot {
  constructor(url, rows, page) {
    this.url = url;
    this.at = Date.now();
    this.rows = rows;
    this.page = page;
  }
}

const history = [];

function rows(url) {
  const out = [];
  for (let i = 0; i < 300; i++) out.push({ id: i, label: `${url}#${i}`, score: i * 0.5 });
  return out;
}

function serve(req, res) {
  const list = rows(req.url);
  const page = list.map((r) => `<li>${r.label} ${'.'.repeat(150)}</li>`).join('\n');
  history.push(new Snapshot(req.url, list, page));
  res.setHeader('content-type', 'text/plain');
  res.end(`${history.length} pages served\n`);
}

const server = http.createServer((req, res) => setTimeout(serve, 5, req, res));
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
