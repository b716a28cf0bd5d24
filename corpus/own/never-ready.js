// expect: leak
// holder: storeReady
// items: closure persistVisit
//
// A readiness promise that never settles. The visit store announces itself
// with a 'ready' event, but `storeReady` waits for 'connect', so it stays
// pending forever. Each request answers right away and then chains
// `storeReady.then(persistVisit)` to save its Visit "once the store is up":
// every call adds one more reaction to the pending promise, and each
// reaction keeps its closure and its Visit alive.
'use strict';
const http = require('node:http');
const { EventEmitter } = require('node:events');

class VisitStore extends EventEmitter {
  constructor() {
    super();
    this.saved = 0;
    setImmediate(() => this.emit('ready'));
  }
  save(visit) {
    this.saved += visit.bytes;
  }
}

class Visit {
  constructor(n, req) {
    this.n = n;
    this.path = req.url;
    this.agent = req.headers['user-agent'] || 'unknown';
    this.bytes = 0;
    this.marks = [n, n * 2, n * 3, n * 4, n * 5, n * 6];
  }
}

const store = new VisitStore();
const storeReady = new Promise((resolve) => store.once('connect', resolve));

let visits = 0;
const server = http.createServer((req, res) => {
  const visit = new Visit(++visits, req);
  res.end(`visit ${visit.n}\n`);
  storeReady.then(function persistVisit() {
    store.save(visit);
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
