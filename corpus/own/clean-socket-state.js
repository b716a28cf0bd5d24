// expect: clean
//
// Control: per-connection state, released on close. Each keep-alive
// connection gets a ConnectionState in a Map (with the last 8 request
// summaries on that connection, a bounded list), and the entry is deleted
// on the socket's 'close' event. Many requests per connection, many
// connections over time, but only open connections are in the Map.
'use strict';
const http = require('node:http');

class ConnectionState {
  constructor(id) {
    this.id = id;
    this.requests = 0;
    this.recent = [];
  }
  record(summary) {
    this.requests++;
    this.recent.push(summary);
    if (this.recent.length > 8) this.recent.shift();
  }
}

const connections = new Map();
let nextConnection = 0;

const server = http.createServer((req, res) => {
  const state = connections.get(req.socket);
  state.record({ url: req.url, n: state.requests });
  res.end(`connection ${state.id}, request ${state.requests}, ${connections.size} open\n`);
});
server.on('connection', (socket) => {
  connections.set(socket, new ConnectionState(++nextConnection));
  socket.on('close', () => connections.delete(socket));
});
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
