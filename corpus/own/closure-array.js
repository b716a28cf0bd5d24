// expect: leak
// holder: Array `pending`
// items: closure rememberHeaders
//
// The classic: each request queues a callback that closes over the request
// "to answer later", into a module array that nothing ever drains. Every
// IncomingMessage (headers, socket state, parser buffers) stays reachable.
'use strict';
const http = require('node:http');

const pending = [];

function greet(req, res) {
  pending.push(function rememberHeaders() {
    return req.headers['user-agent'];
  });
  req.visitor = { seen: pending.length, name: 'guest' };
  res.setHeader('content-type', 'text/plain');
  res.end(`hello ${req.visitor.name}\n`);
}

const server = http.createServer(greet);
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
