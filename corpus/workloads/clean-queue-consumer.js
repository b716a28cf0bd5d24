// expect: clean
//
// Control for queue-consumer.js: the same consumer with no listening port,
// a batch of BATCH (default 20) synthetic messages every RATE_MS (default
// 20). Handled messages are dropped, and the retry list is bounded: it keeps
// only the last 200 retry callbacks (oldest shifted out), so the heap stops
// growing once the list is full, within the first second.
'use strict';

const RATE_MS = Number(process.env.RATE_MS || 20);
const BATCH = Number(process.env.BATCH || 20);
const RETRY_LIMIT = 200;

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
    if (retries.length > RETRY_LIMIT) retries.shift();
  }
}

setInterval(consume, RATE_MS);
console.log(`consumer started (pid ${process.pid})`);
