// expect: leak
// holder: Map `pendingById`
// items: PendingCall
// url: /work?id={seq}
//
// Request/response bookkeeping for a message-based backend. Every call is
// stored in `pendingById` until its reply arrives; the reply handler is the
// only place that deletes. The backend never replies to 'audit' messages
// (they are notifications in its protocol), so those calls time out: the
// timeout rejects the caller's promise, which the caller ignores, but
// forgets to delete the entry. One PendingCall (with its params and its
// spent Timeout) stays in the Map for every request.
'use strict';
const http = require('node:http');
const { EventEmitter } = require('node:events');

class FakeBackend extends EventEmitter {
  send(message) {
    if (message.method === 'audit') return; // fire-and-forget on the backend side
    setImmediate(() => this.emit('reply', { id: message.id, result: { ok: true, echo: message.params.id } }));
  }
}

class PendingCall {
  constructor(id, method, params, resolve, reject) {
    this.id = id;
    this.method = method;
    this.params = params;
    this.resolve = resolve;
    this.reject = reject;
    this.sentAt = Date.now();
    this.timer = null;
  }
}

const backend = new FakeBackend();
const pendingById = new Map();
let nextId = 0;

backend.on('reply', (reply) => {
  const call = pendingById.get(reply.id);
  if (call === undefined) return;
  clearTimeout(call.timer);
  pendingById.delete(reply.id);
  call.resolve(reply.result);
});

function call(method, params) {
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    const pending = new PendingCall(id, method, params, resolve, reject);
    pending.timer = setTimeout(() => {
      pending.reject(new Error(`${method} #${id} timed out`)); // missing: pendingById.delete(id)
    }, 50);
    pendingById.set(id, pending);
    backend.send({ id, method, params });
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const params = { id: url.searchParams.get('id'), path: url.pathname, agent: req.headers['user-agent'] || '' };
  call('audit', { ...params, kind: 'work-requested' }).catch(() => {});
  const result = await call('lookup', params);
  res.end(`work ${result.echo} ok\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
