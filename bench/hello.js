// bench/hello.js — the cheapest possible Node HTTP server, so that the load
// driver, not the app, is what bench/load.sh compares.
'use strict';
const http = require('node:http');
const server = http.createServer((req, res) => res.end('hello\n'));
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
