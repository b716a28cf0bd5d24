// expect: leak
// holder: outbox
// items: OutboxNode
//
// A hand-written linked-list queue whose consumer never starts. Each
// request enqueues a notification in `outbox`; `pump()` only drains while
// `outbox.online` is true, and that flag is set by a health check that
// compares the gateway's status with 'UP' while the gateway reports 'up'.
// The queue's head stays put and every request appends one more node at
// the tail: a chain of OutboxNodes that grows forever.
'use strict';
const http = require('node:http');

class OutboxNode {
  constructor(message) {
    this.message = message;
    this.next = null;
  }
}

class Outbox {
  constructor() {
    this.head = null;
    this.tail = null;
    this.length = 0;
    this.online = false;
  }
  push(message) {
    const node = new OutboxNode(message);
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.length++;
    this.pump();
  }
  pump() {
    while (this.online && this.head) {
      deliver(this.head.message);
      this.head = this.head.next;
      if (!this.head) this.tail = null;
      this.length--;
    }
  }
}

const gateway = { status: () => 'up' };
const outbox = new Outbox();
let delivered = 0;

function deliver(message) {
  delivered += message.body.length;
}

setInterval(() => {
  outbox.online = gateway.status() === 'UP';
  outbox.pump();
}, 500).unref();

let sent = 0;
const server = http.createServer((req, res) => {
  outbox.push({ to: `subscriber-${sent % 50}`, body: `page ${req.url} viewed (#${++sent})`, at: Date.now() });
  res.end(`queued ${outbox.length}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
