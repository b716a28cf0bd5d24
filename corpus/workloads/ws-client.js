// Load script for ws-server.js / clean-ws-server.js (not an app: no header).
// Usage: node ws-client.js http://127.0.0.1:PORT  (or LEAKSCOPE_URL=...)
// Opens CONNECTIONS (default 10) WebSockets at once, sends MESSAGES (default
// 200) {"op":"subscribe","topic":"t<seq>"} per connection, each after the
// reply to the previous one, closes them, prints `sent N messages`, exits 0.
// Any error (bad URL, connect failure, non-ok reply) exits 1 with a message.
'use strict';
const WebSocket = require('ws');

const CONNECTIONS = Number(process.env.CONNECTIONS || 10);
const MESSAGES = Number(process.env.MESSAGES || 200);

function fail(message) {
  console.error(`ws-client: ${message}`);
  process.exit(1);
}

const base = process.argv[2] || process.env.LEAKSCOPE_URL;
if (!base) fail('usage: ws-client.js http://127.0.0.1:PORT (or set LEAKSCOPE_URL)');
let url;
try {
  url = new URL(base);
} catch {
  fail(`not a URL: ${base}`);
}
if (url.protocol === 'http:') url.protocol = 'ws:';
else if (url.protocol === 'https:') url.protocol = 'wss:';
else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail(`unsupported URL: ${base}`);

let seq = 0;
let sent = 0;

function runConnection() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    let remaining = MESSAGES;
    const next = () => {
      if (remaining-- === 0) return socket.close();
      socket.send(JSON.stringify({ op: 'subscribe', topic: `t${seq++}` }));
      sent++;
    };
    socket.on('open', next);
    socket.on('message', (data) => {
      let reply;
      try { reply = JSON.parse(data); } catch { reply = null; }
      if (!reply || reply.ok !== true) return reject(new Error(`bad reply: ${data}`));
      next();
    });
    socket.on('error', reject);
    socket.on('close', (code) => {
      if (remaining >= 0) reject(new Error(`connection closed early (code ${code})`));
      else resolve();
    });
  });
}

Promise.all(Array.from({ length: CONNECTIONS }, runConnection)).then(
  () => {
    console.log(`sent ${sent} messages`);
    process.exit(0);
  },
  (err) => fail(err.message || String(err)),
);
