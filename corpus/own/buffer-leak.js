// expect: leak
// holder: Map `uploads`
// items: Buffer
//
// Memory outside the JS heap: each request keeps an 8 KB Buffer of its
// "upload" in a Map keyed by request number. On the JS heap a Buffer is a
// small object of about a hundred bytes; its 8 KB backing store lives
// outside, so the process grows ~8 KB per request while the JS heap
// barely moves.
'use strict';
const http = require('node:http');

const uploads = new Map();
let received = 0;

const server = http.createServer((req, res) => {
  const body = Buffer.alloc(8192, received % 251);
  uploads.set(received++, body);
  res.end(`stored ${uploads.size}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
