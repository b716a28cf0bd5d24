// expect: leak
// holder: native handles `Node / MessagePort`
// items: MessagePort
//
// Leak: every request opens a MessageChannel to hand its audit record to a
// background step, listens on one port and never closes it. An open port
// with a 'message' listener is an active native handle: Node keeps it (and
// everything its listener captures) alive from the handle, not from any
// JavaScript object, so no module variable holds the leak. Expected culprit:
// the MessagePorts kept open by their native handles, about one per request,
// each keeping its listener and the request's AuditRecord.
'use strict';
const http = require('node:http');

class AuditRecord {
  constructor(url, headers) {
    this.url = url;
    this.agent = headers['user-agent'] || '';
    this.at = Date.now();
    this.trail = new Array(16).fill(0);
  }
}

const server = http.createServer((req, res) => {
  const record = new AuditRecord(req.url, req.headers);
  const { port1, port2 } = new MessageChannel();
  port1.on('message', function onAudit(message) {
    record.trail.push(message);
  });
  port2.postMessage(1);
  res.end('ok\n');
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
