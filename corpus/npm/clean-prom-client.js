// expect: clean
// url: /orders/{seq}?page=2
//
// prom-client used as intended: the request-duration histogram is labelled
// with the route *template* (`/orders/:id`), the method and the status code,
// never with ids, so the set of label combinations is small and fixed; the
// metric's storage stops growing after the first requests. The default
// process metrics are registered too, as most services do.
'use strict';
const http = require('node:http');
const client = require('prom-client');

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
const duration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'Request duration by route template',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  registers: [registry],
});
const requests = new client.Counter({
  name: 'http_requests_total',
  help: 'Requests by route template',
  labelNames: ['method', 'route', 'status'],
  registers: [registry],
});

function routeOf(pathname) {
  if (pathname === '/metrics') return '/metrics';
  if (pathname.startsWith('/orders/')) return '/orders/:id';
  return 'other';
}

const server = http.createServer((req, res) => {
  const pathname = req.url.split('?')[0];
  const route = routeOf(pathname);
  const end = duration.startTimer({ method: req.method, route });
  if (route === '/metrics') {
    registry.metrics().then((text) => {
      res.setHeader('content-type', registry.contentType);
      res.end(text);
      end({ status: '200' });
    });
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ id: pathname.slice('/orders/'.length), state: 'open' }));
  end({ status: String(res.statusCode) });
  requests.inc({ method: req.method, route, status: String(res.statusCode) });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
