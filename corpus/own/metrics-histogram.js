// expect: leak
// holder: `hashMap` of Histogram `api_latency_seconds`
// package: tiny-metrics
// items: Object
// url: /api/orders?user={seq}
//
// High-cardinality metric labels: the latency histogram is labelled with
// the user id, so every new user adds a label set (an entry with its own
// bucket array) to the histogram's `hashMap`, which a metrics library never
// forgets. The holder lives in library code (node_modules/tiny-metrics),
// owned by a Histogram held in the app's lib/metrics.js.
'use strict';
const http = require('node:http');
const { timeRequest } = require('./lib/metrics.js');

const server = http.createServer((req, res) => {
  const started = process.hrtime.bigint();
  const url = new URL(req.url, 'http://x');
  const user = url.searchParams.get('user') || 'anonymous';
  res.end(`orders of ${user}\n`);
  timeRequest(url.pathname, user, Number(process.hrtime.bigint() - started) / 1e9);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
