// expect: leak
// holder: Array `childSpans`
// items: Span
//
// AsyncLocalStorage misuse. At startup the app calls `tracing.enterWith()`
// with a "boot" span so that its startup logs are tagged. enterWith never
// leaves: the boot span stays the store of the top-level async context and
// is inherited by every resource created from it, including the listening
// server, its connections and therefore every request. The tracer's
// `startSpan` attaches each new span to `tracing.getStore()` as its parent,
// expecting a per-request root, so every request span lands in the boot
// span's `childSpans` array, which lives as long as the process.
'use strict';
const http = require('node:http');
const { AsyncLocalStorage } = require('node:async_hooks');

const tracing = new AsyncLocalStorage();

class Span {
  constructor(name, parent) {
    this.name = name;
    this.parent = parent;
    this.childSpans = [];
    this.attributes = {};
    this.start = Date.now();
    this.end = 0;
  }
}

function startSpan(name) {
  const parent = tracing.getStore();
  const span = new Span(name, parent);
  if (parent) parent.childSpans.push(span);
  return span;
}

function log(message) {
  process.stderr.write(`[${tracing.getStore()?.name ?? '-'}] ${message}\n`);
}

tracing.enterWith(new Span('boot', null));
log('loading configuration');

const server = http.createServer((req, res) => {
  const span = startSpan(`GET ${req.url}`);
  span.attributes.agent = req.headers['user-agent'] || '-';
  tracing.run(span, () => {
    setImmediate(() => {
      tracing.getStore().end = Date.now();
      res.end(`traced ${span.name}\n`);
    });
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
