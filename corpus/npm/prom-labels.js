// expect: leak
// holder: hashMap
// package: prom-client
// items: {labels, bucketValues}
// url: /orders?user={seq}
//
// High-cardinality label: the request-duration histogram is labelled with the
// caller's user id. prom-client keeps one entry per distinct label set in the
// metric's hashMap (labels, a copy of every bucket counter, sum and count),
// and keeps it until the process ends, so every new user adds a row that the
// /metrics endpoint will also have to render forever.
'use strict';
const http = require('node:http');
const client = require('prom-client');

const registry = new client.Registry();
const duration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'Request duration by route and user',
  labelNames: ['route', 'user', 'status'],
  buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  registers: [registry],
});

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/metrics') {
    registry.metrics().then((text) => {
      res.setHeader('content-type', registry.contentType);
      res.end(text);
    });
    return;
  }
  const user = url.searchParams.get('user') || 'anonymous';
  const t0 = process.hrtime.bigint();
  const body = JSON.stringify({ user, orders: [] });
  res.setHeader('content-type', 'application/json');
  res.end(body);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  duration.observe({ route: '/orders', user, status: '200' }, seconds);
});
server.keepAliveTimeout = 30000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
