// expect: clean
//
// No leak, but spiky: requests to unknown paths build Errors with 100-frame
// stacks and a 2 KB detail each, large short-lived allocations that make
// the heap jump under load and fall back after a full GC.
'use strict';
const http = require('node:http');

Error.stackTraceLimit = 100;

function descend(depth, fn) {
  return depth === 0 ? fn() : descend(depth - 1, fn);
}

function missing(path) {
  const error = new Error(`nothing at ${path}`);
  error.context = { path, when: Date.now(), padding: '-'.repeat(2048) };
  return error;
}

const server = http.createServer((req, res) => {
  if (req.url === '/') {
    res.end('home\n');
    return;
  }
  const error = descend(60, () => missing(req.url));
  res.statusCode = 404;
  res.end(`${error.message}: ${error.stack.length} bytes of stack\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
