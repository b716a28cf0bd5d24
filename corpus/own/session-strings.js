// expect: leak
// holder: `sessions` of MemoryStore
// items: (string)
//
// A session middleware with the in-memory store most frameworks ship by
// default: every client that comes without a cookie gets a new session,
// saved as a JSON string under its id in a plain object used as a
// dictionary. Load generators, health checks and bots never send the cookie
// back, so one entry per request stays forever.
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');

class MemoryStore {
  constructor() {
    this.sessions = Object.create(null);
  }
  set(sid, session) {
    this.sessions[sid] = JSON.stringify(session);
  }
  get(sid) {
    const text = this.sessions[sid];
    return text === undefined ? undefined : JSON.parse(text);
  }
}

const store = new MemoryStore();
let issued = 0;

function newSessionId() {
  return crypto.createHash('sha1').update(`sid-${issued++}`).digest('base64url');
}

function session(req) {
  const sid = /sid=([\w-]+)/.exec(req.headers.cookie || '')?.[1];
  const existing = sid && store.get(sid);
  if (existing) return { sid, data: existing };
  const fresh = { sid: newSessionId(), data: { cookie: { path: '/', httpOnly: true }, views: 0 } };
  return fresh;
}

const server = http.createServer((req, res) => {
  const s = session(req);
  s.data.views++;
  s.data.lastPath = req.url;
  store.set(s.sid, s.data);
  res.setHeader('set-cookie', `sid=${s.sid}; Path=/; HttpOnly`);
  res.end(`views ${s.data.views}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
