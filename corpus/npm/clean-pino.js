// expect: clean
// url: /api/items/{seq}
//
// A pino logger used the usual way: one root logger, and a cheap child
// logger per request carrying the request id. Children are plain objects
// that die with the request; pino keeps no registry of them. Output goes to
// an in-process sink that counts bytes (no disk, no stdout noise).
'use strict';
const http = require('node:http');
const { Writable } = require('node:stream');
const pino = require('pino');

let logged = 0;
const sink = new Writable({
  write(chunk, encoding, callback) {
    logged += chunk.length;
    callback();
  },
});
const logger = pino({ level: 'info', base: { service: 'items' }, timestamp: false }, sink);

let nextRequest = 0;
const server = http.createServer((req, res) => {
  const log = logger.child({ reqId: nextRequest++, path: req.url });
  log.info('request received');
  res.end(`item ${req.url.slice('/api/items/'.length)} (${logged} bytes logged)\n`);
  log.debug('response sent'); // below level: discarded
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
