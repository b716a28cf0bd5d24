// expect: leak
// holder: Array `retries`
// items: closure scheduleRetry
//
// A queue consumer with no listening port: every RATE_MS (default 20) it
// pulls a batch of BATCH (default 20) synthetic messages and handles them.
// For each message it also queues a retry callback "in case delivery needs
// to be re-attempted" into the module array `retries`, which nothing ever
// drains, so every closure and the message it captures stay reachable
// (about 1000 closures/s at the defaults).
'use strict';

const RATE_MS = Number(process.env.RATE_MS || 20);
const BATCH = Number(process.env.BATCH || 20);

const retries = [];
let nextId = 0;
let handled = 0;

// Stands in for the broker: encodes BATCH messages to bytes; the consumer
// decodes them, so each message is one Object with a flat ~100-char string.
function receiveBatch() {
  const batch = [];
  for (let i = 0; i < BATCH; i++) {
    const id = nextId++;
    const payload = `msg-${id}:`.padEnd(100, 'abcdefghij');
    const wire = Buffer.from(JSON.stringify({ id, payload, timestamp: Date.now() }));
    batch.push(JSON.parse(wire.toString('utf8')));
  }
  return batch;
}

function handle(message) {
  handled += message.payload.length > 0 ? 1 : 0;
}

function consume() {
  for (const message of receiveBatch()) {
    handle(message);
    retries.push(function scheduleRetry() {
      return handle(message);
    });
  }
}

setInterval(consume, RATE_MS);
console.log(`consumer started (pid ${process.pid})`);
