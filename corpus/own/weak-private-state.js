// expect: leak
// holder: Array `hits`
// items: Hit
//
// A leak behind a WeakMap. RateLimiter keeps its state in a module-level
// WeakMap ("private fields" the pre-#private way), which is fine: the
// limiter is created once and lives for the whole process. The state holds
// a sliding-window log of hits, pruned by comparing each hit's time with
// `now - this.window`, but the option is called `windowMs`: `this.window`
// is undefined, the comparison is against NaN and never true, so nothing is
// ever pruned. The growing array is reachable only through the WeakMap's
// entry for the limiter.
'use strict';
const http = require('node:http');

const internals = new WeakMap();

class Hit {
  constructor(client, path, at) {
    this.client = client;
    this.path = path;
    this.at = at;
  }
}

class RateLimiter {
  constructor({ windowMs, max }) {
    this.windowMs = windowMs;
    this.max = max;
    internals.set(this, { hits: [], blocked: 0 });
  }

  allow(client, path) {
    const state = internals.get(this);
    const now = Date.now();
    while (state.hits.length > 0 && state.hits[0].at < now - this.window) state.hits.shift();
    state.hits.push(new Hit(client, path, now));
    if (state.hits.length > this.max) state.blocked++;
    return true; // report-only mode
  }
}

const limiter = new RateLimiter({ windowMs: 1000, max: 5000 });

const server = http.createServer((req, res) => {
  const client = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  limiter.allow(client, req.url);
  res.end('allowed\n');
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
