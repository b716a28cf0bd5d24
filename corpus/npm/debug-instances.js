// expect: leak
// holder: instances
// package: debug
// items: closure debug
// url: /jobs/{seq}
//
// A namespaced debug logger per request (`log.extend(requestId)`) so that the
// request id shows in every debug line. debug 3.x registers each logger it
// creates in createDebug.instances so that debug.enable() can re-evaluate
// them later, and only removes one when somebody calls its destroy(): the
// per-request loggers pile up in that array even though DEBUG is off.
'use strict';
const http = require('node:http');
const createDebug = require('debug');

const base = createDebug('corpus:jobs');

let nextRequest = 0;
const server = http.createServer((req, res) => {
  const log = base.extend(`req-${nextRequest++}`);
  log('start %s %s', req.method, req.url);
  const body = `job ${req.url.slice(6)} queued\n`;
  log('done');
  res.end(body);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
