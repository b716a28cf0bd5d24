// expect: clean
//
// Control: heavy, short-lived Buffers. Every request assembles a 256 kB
// "export" in a fresh Buffer, checksums it and sends a digest. The Buffers
// live outside the JS heap (external memory), so RSS and `external` jump
// around under load, but each one dies with its request.
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');

const SIZE = 256 * 1024;
let exports_ = 0;

function buildExport(n, path) {
  const buffer = Buffer.allocUnsafe(SIZE);
  buffer.fill(n & 0xff);
  buffer.write(`export ${n} of ${path}`, 0, 'latin1');
  return buffer;
}

const server = http.createServer((req, res) => {
  const buffer = buildExport(++exports_, req.url);
  const digest = crypto.createHash('sha1').update(buffer).digest('hex');
  res.end(`${buffer.length} bytes, sha1 ${digest}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
