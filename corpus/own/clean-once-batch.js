// expect: clean
//
// Control: listeners that really fire. Requests are answered in batches: each
// one waits for the batcher's next 'flush' with `once`, and the batcher
// flushes when 16 requests are waiting or after 2 ms, whichever comes first.
// Every listener is removed as it fires, so the emitter's listener list
// never holds more than one batch.
'use strict';
const http = require('node:http');
const { EventEmitter } = require('node:events');

class Batcher extends EventEmitter {
  constructor(size, delay) {
    super();
    this.setMaxListeners(size + 1);
    this.size = size;
    this.delay = delay;
    this.waiting = 0;
    this.timer = null;
    this.batches = 0;
  }
  join(listener) {
    this.once('flush', listener);
    if (++this.waiting >= this.size) this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.delay);
  }
  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    this.waiting = 0;
    this.emit('flush', ++this.batches);
  }
}

const batcher = new Batcher(16, 2);

const server = http.createServer((req, res) => {
  const url = req.url;
  batcher.join(function answer(batch) {
    res.end(`${url} answered in batch ${batch}\n`);
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
