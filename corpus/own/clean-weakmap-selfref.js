// expect: clean
//
// Control: a WeakMap whose values point back at their keys. Request
// metadata is attached to each IncomingMessage through a WeakMap, and the
// metadata object keeps a reference to its request (`meta.req`). It looks
// like the entry can never be dropped, but WeakMap entries are ephemerons:
// the value is only kept alive by the key, so once the request is
// unreachable the entry, key and value go together. A second WeakMap keyed
// by the long-lived Server holds one bounded stats object.
'use strict';
const http = require('node:http');

const metaByRequest = new WeakMap();
const statsByServer = new WeakMap();

class RequestMeta {
  constructor(req, n) {
    this.req = req;
    this.n = n;
    this.tags = [`path:${req.url}`, `method:${req.method}`, `n:${n}`];
  }
}

let seen = 0;
function metaOf(req) {
  let meta = metaByRequest.get(req);
  if (meta === undefined) {
    meta = new RequestMeta(req, ++seen);
    metaByRequest.set(req, meta);
  }
  return meta;
}

const server = http.createServer((req, res) => {
  const meta = metaOf(req);
  const stats = statsByServer.get(server);
  stats.requests++;
  stats.lastTags = meta.tags;
  res.end(`request ${meta.n}: ${metaOf(req).tags.join(',')}\n`);
});
statsByServer.set(server, { requests: 0, lastTags: [] });
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
