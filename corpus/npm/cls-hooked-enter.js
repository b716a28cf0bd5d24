// expect: leak
// holder: _set
// package: cls-hooked
// items: {_ns_name, id, requestId, user}
// url: /account/{seq}
//
// Continuation-local storage entered but never exited: a request-context
// middleware calls ns.enter(ns.createContext()) (instead of ns.run() or
// ns.bindEmitter + an exit on 'finish'), so the request id is visible to the
// logger further down. cls-hooked's enter() pushes the previously active
// context onto the namespace's _set stack; without the matching exit() that
// stack only grows, and because createContext() inherits from the active
// context, every context also keeps the previous one as its prototype.
'use strict';
const http = require('node:http');
const cls = require('cls-hooked');

const ns = cls.createNamespace('request-context');

function requestContext(req) {
  const context = ns.createContext();
  ns.enter(context); // BUG: never ns.exit(context)
  ns.set('requestId', req.url.slice('/account/'.length));
  ns.set('user', { path: req.url, roles: ['reader', 'billing'] });
}

function logLine(message) {
  return `[${ns.get('requestId')}] ${message}\n`;
}

const server = http.createServer((req, res) => {
  requestContext(req);
  res.end(logLine('account page'));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
