// expect: leak
// holder: handlers
// package: axios
// items: {fulfilled, rejected, synchronous, runWhen}
// url: /checkout/{seq}
//
// An axios interceptor added per request: to forward the caller's request id
// to the inventory service, the handler registers a request interceptor on
// the shared client every time, "scoped" to this request's own calls with
// runWhen, instead of once at startup (or instead of passing a header).
// runWhen only decides whether an interceptor runs; axios still keeps every
// interceptor in its InterceptorManager's handlers array (plus an id map)
// until eject(), so the array grows by one {fulfilled, rejected, ...} record
// per request, and each record's closures keep that request's req/res
// alive. The inventory service is stubbed with an in-process adapter: no
// network.
'use strict';
const http = require('node:http');
const axios = require('axios');

const inventory = axios.create({
  baseURL: 'http://inventory.internal',
  adapter: async (config) => ({
    data: { sku: config.url, available: 3, requestId: config.headers['x-request-id'] },
    status: 200,
    statusText: 'OK',
    headers: {},
    config,
  }),
});

const server = http.createServer((req, res) => {
  const requestId = `req-${req.url.slice('/checkout/'.length)}`;
  inventory.interceptors.request.use(function addRequestId(config) {
    config.headers['x-request-id'] = requestId;
    return config;
  }, null, {
    synchronous: true,
    runWhen: (config) => config.params.requestId === requestId,
  });
  inventory.get('/stock/A-1', { params: { requestId } }).then((reply) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, stock: reply.data.available }));
  }, (err) => {
    res.statusCode = 500;
    res.end(String(err));
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
