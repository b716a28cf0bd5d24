// expect: leak
// holder: Array `visits`
// items: Visit
//
// A server that closes every connection after one response (no
// keep-alive) and records each visit in a module array nothing trims.
// Every request costs a TCP connection, which makes allocation tracking
// (a heap-stats update per new socket) very expensive here.
'use strict';
const http = require('node:http');

class Visit {
  constructor(n, path, agent) {
    this.n = n;
    this.path = path;
    this.agent = agent;
    this.at = Date.now();
  }
}

const visits = [];

const server = http.createServer((req, res) => {
  visits.push(new Visit(visits.length, req.url, req.headers['user-agent'] || '-'));
  res.setHeader('connection', 'close');
  res.end(`visit ${visits.length}\n`);
});
server.keepAliveTimeout = 0;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
