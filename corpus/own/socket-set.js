// expect: leak
// holder: Set `openSockets`
// items: Socket
//
// Leak: connections are added to a Set for "graceful shutdown" but never
// removed when they close, so every closed socket stays reachable.
// Expected culprit: the Set `openSockets`, holding Socket objects.
'use strict';
const http = require('node:http');

const openSockets = new Set();

const server = http.createServer((req, res) => {
  res.end('ok\n');
});
server.on('connection', (socket) => {
  socket.connectedAt = new Date();
  socket.history = new Array(256).fill(socket.remotePort);
  openSockets.add(socket);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
