// expect: clean
//
// Control: grows under load, then shrinks. Rate-limit counters live in a Map
// keyed by a per-request token with a one-second TTL, and a sweeper runs
// every 250 ms deleting expired entries. During a burst the Map holds about
// a second's worth of entries; once traffic pauses it empties again. Its
// size tracks the request rate, not the request count.
'use strict';
const http = require('node:http');

const TTL_MS = 1000;
const counters = new Map();
let token = 0;

class Counter {
  constructor(key, now) {
    this.key = key;
    this.hits = 1;
    this.expires = now + TTL_MS;
    this.trail = [now, now, now, now];
  }
}

setInterval(() => {
  const now = Date.now();
  for (const [key, counter] of counters) {
    if (counter.expires <= now) counters.delete(key);
  }
}, 250).unref();

const server = http.createServer((req, res) => {
  const now = Date.now();
  const key = `t${++token}:${req.url}`;
  counters.set(key, new Counter(key, now));
  res.end(`tracked ${counters.size}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
