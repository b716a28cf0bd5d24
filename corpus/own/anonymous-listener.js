// expect: leak
// holder: Array `seen`
// items: closure (anonymous)
//
// An audit helper adds an arrow-function 'request' listener to the server
// that keeps, for every request, an arrow function describing it (and so the
// request) in an array only that listener can reach. Nothing in a heap
// snapshot names either arrow function: the hunt must still find the array,
// and say where both unnamed functions are defined.
'use strict';
const http = require('node:http');

function audit(server) {
  const seen = [];
  server.on('request', (req) => {
    seen.push(() => `${req.method} ${req.url} from ${req.socket.remoteAddress}`);
  });
}

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end('ok\n');
});
audit(server);
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
