// expect: leak
// holder: the 'reload' listeners of EventEmitter `settings`
// items: closure onReload
//
// Each request subscribes to a long-lived emitter to hear about config
// reloads and never unsubscribes; every listener keeps its request's
// Session. setMaxListeners(0) silences Node's warning.
'use strict';
const http = require('node:http');
const { EventEmitter } = require('node:events');

const settings = new EventEmitter();
settings.setMaxListeners(0);

class Session {
  constructor(id, path) {
    this.id = id;
    this.path = path;
    this.flags = new Array(48).fill(false);
  }
}

let sessions = 0;
const server = http.createServer((req, res) => {
  const session = new Session(sessions++, req.url);
  settings.on('reload', function onReload() {
    session.flags.fill(false);
  });
  res.end(`session ${session.id}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
