// expect: leak
// holder: ms timer list
// items: RequestStats
//
// Leak: every request builds a RequestStats object (about 3.5 kB: its
// headers and a 400-slot latency window) and starts two unref'd intervals
// that report it, one every 10 s and one every 30 s, never cleared. Both
// callbacks capture the same stats, so the two timer lists keep it alive
// together: no single object dominates the leak, and neither list alone
// would free it. Expected: the RequestStats per request, held by the 10 s
// and 30 s timer lists together.
'use strict';
const http = require('node:http');

class RequestStats {
  constructor(url, headers) {
    this.url = url;
    this.headers = { ...headers };
    this.latencies = new Float64Array(400);
    this.count = 0;
  }
}

let reported = 0;

const server = http.createServer((req, res) => {
  const stats = new RequestStats(req.url, req.headers);
  const fast = setInterval(function reportFast() {
    reported += stats.count;
  }, 10_000);
  fast.unref();
  const slow = setInterval(function reportSlow() {
    stats.count = 0;
  }, 30_000);
  slow.unref();
  res.end('ok\n');
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
