// expect: clean
//
// Control: a bounded history. The last 500 requests are kept for a debug
// page in a fixed-size ring buffer: a preallocated array of 500 slots and a
// write index that wraps around, so each new record overwrites the oldest.
// The history fills during warm-up and then stays exactly 500 records.
'use strict';
const http = require('node:http');

class RequestRecord {
  constructor(n, req) {
    this.n = n;
    this.method = req.method;
    this.url = req.url;
    this.agent = req.headers['user-agent'] || '-';
    this.at = Date.now();
  }
}

class Ring {
  constructor(capacity) {
    this.slots = new Array(capacity).fill(null);
    this.next = 0;
    this.count = 0;
  }
  push(item) {
    this.slots[this.next] = item;
    this.next = (this.next + 1) % this.slots.length;
    this.count = Math.min(this.count + 1, this.slots.length);
  }
}

const history = new Ring(500);
let n = 0;

const server = http.createServer((req, res) => {
  if (req.url === '/debug/history') {
    res.end(history.slots.filter(Boolean).map((r) => `${r.n} ${r.url}`).join('\n'));
    return;
  }
  history.push(new RequestRecord(++n, req));
  res.end(`recorded ${n}, keeping ${history.count}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
