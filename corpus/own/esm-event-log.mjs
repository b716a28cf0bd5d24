// expect: leak
// holder: Array `events`
// items: DomainEvent
//
// Leak, in an ES module with top-level await: an event-sourcing style
// module keeps every DomainEvent it publishes in a top-level
// `const events = []` so that late subscribers can replay history. The
// events carry their payload in #private fields. Nothing ever truncates
// the history, so it grows by one event per request.
import http from 'node:http';
import { setImmediate as nextTick } from 'node:timers/promises';

class DomainEvent {
  #payload;
  #sequence;
  constructor(sequence, type, payload) {
    this.#sequence = sequence;
    this.#payload = payload;
    this.type = type;
  }
  get sequence() {
    return this.#sequence;
  }
  describe() {
    return `${this.type}#${this.#sequence} ${JSON.stringify(this.#payload)}`;
  }
}

const events = [];
const subscribers = new Set();

function publish(type, payload) {
  const event = new DomainEvent(events.length + 1, type, payload);
  events.push(event);
  for (const subscriber of subscribers) subscriber(event);
  return event;
}

const schema = await nextTick({ version: 3, fields: ['path', 'agent', 'at'] });
let lastDescription = '';
subscribers.add((event) => {
  lastDescription = event.describe();
});

const server = http.createServer((req, res) => {
  const event = publish('PageViewed', {
    schema: schema.version,
    path: req.url,
    agent: req.headers['user-agent'] ?? '-',
    at: Date.now(),
  });
  res.end(`event ${event.sequence} (${lastDescription.length} bytes)\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
