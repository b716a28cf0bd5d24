// expect: leak
// holder: the 'request' listeners of Server
// items: closure audit
//
// An app that slows down as it leaks: every request registers 1000 more
// 'request' listeners on the server itself (setMaxListeners(0) hides Node's
// warning), so each request runs every listener ever added. Throughput
// falls request after request while the listener array grows by 1000 per
// request: a hunt must reach a verdict even though rounds get slower.
'use strict';
const http = require('node:http');

const server = http.createServer();
server.setMaxListeners(0);

let served = 0;
server.on('request', function handle(req, res) {
  served++;
  for (let i = 0; i < 1000; i++) {
    server.on('request', function audit() {
      return i;
    });
  }
  res.end(`served ${served}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
