// leakscope demo: the classic Node leak. Every request pushes a closure that
// captures the request into a module-level array that is never drained, so
// each IncomingMessage (headers, socket state, ...) stays alive forever.
// Expected culprit: the array `pending` in this file, holding closures named
// `rememberHeaders`, which retain IncomingMessage objects.
//
//   node examples/leaky-server.js                 # serve on PORT (0 = any free port)
//   LEAKSCOPE_SELF_LOAD=2000 LEAKSCOPE_SNAPSHOT=out.heapsnapshot node examples/leaky-server.js
//     # drive 2000 keep-alive requests at itself, write a heap snapshot, exit
'use strict';
const http = require('node:http');

const pending = [];

function greet(req, res) {
  pending.push(function rememberHeaders() {
    return req.headers;
  });
  req.user = { id: pending.length, username: 'Leaky Master' };
  res.setHeader('content-type', 'text/plain');
  res.end('Hi ' + req.user.username);
}

const server = http.createServer(greet);
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`listening on http://127.0.0.1:${port}`);
  const total = Number(process.env.LEAKSCOPE_SELF_LOAD || 0);
  if (total > 0) selfLoad(port, total);
});

// Drives `total` requests over 8 keep-alive connections, then snapshots.
function selfLoad(port, total) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let sent = 0;
  let done = 0;
  const next = () => {
    if (sent >= total) return;
    sent++;
    http.get({ port, host: '127.0.0.1', path: `/hello?n=${sent}`, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (++done === total) finish(agent);
        else next();
      });
    });
  };
  for (let i = 0; i < 8; i++) next();
}

function finish(agent) {
  agent.destroy();
  const out = process.env.LEAKSCOPE_SNAPSHOT;
  if (out) {
    global.gc?.();
    require('node:v8').writeHeapSnapshot(out);
    console.log(`wrote ${out}`);
  }
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
