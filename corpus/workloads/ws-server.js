// expect: leak
// holder: Map `subscriptions`
// items: Subscription
// load: ws-client.js
//
// A WebSocket (ws package) pub/sub server: each message
// {"op":"subscribe","topic":"t<seq>"} registers a Subscription (topic,
// socket id, created time and a `notify` closure over the socket) in the
// module Map `subscriptions`, keyed by `${socketId}:${topic}`. Nothing ever
// removes an entry, not even when the socket closes, so every Subscription,
// and through `notify` its closed WebSocket, stays reachable. Load: ws-client.js.
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
  socket.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      socket.send(JSON.stringify({ ok: false, error: 'bad json' }));
      return;
    }
    if (msg.op === 'subscribe' && typeof msg.topic === 'string') {
      const sub = new Subscription(msg.topic, socketId, socket);
      subscriptions.set(`${socketId}:${msg.topic}`, sub);
    }
    socket.send(JSON.stringify({ ok: true }));
  });
});

server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
