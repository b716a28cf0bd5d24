// expect: clean
// load: ws-client.js
//
// Control for ws-server.js: the same WebSocket (ws package) pub/sub server
// registering a Subscription per {"op":"subscribe","topic":"t<seq>"} message
// in the module Map `subscriptions`, but each socket remembers its own keys
// and deletes them when it closes, so the map only holds the subscriptions of
// connected sockets. Load: ws-client.js.
'use strict';
const http = require('node:http');
const { WebSocketServer } = require('ws');

class Subscription {
  constructor(topic, socketId, socket) {
    this.topic = topic;
    this.socketId = socketId;
    this.created = Date.now();
    this.notify = function notify(event) {
      socket.send(JSON.stringify({ topic, event }));
    };
  }
}

const subscriptions = new Map();
let nextSocketId = 0;

const server = http.createServer((req, res) => {
  res.statusCode = 426;
  res.end('websocket only\n');
});
const wss = new WebSocketServer({ server });

wss.on('connection', (socket) => {
  const socketId = ++nextSocketId;
  const keys = new Set();
  socket.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      socket.send(JSON.stringify({ ok: false, error: 'bad json' }));
      return;
    }
    if (msg.op === 'subscribe' && typeof msg.topic === 'string') {
      const key = `${socketId}:${msg.topic}`;
      subscriptions.set(key, new Subscription(msg.topic, socketId, socket));
      keys.add(key);
    }
    socket.send(JSON.stringify({ ok: true }));
  });
  socket.on('close', () => {
    for (const key of keys) subscriptions.delete(key);
    keys.clear();
  });
});

server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
