// expect: leak
// holder: variable `accessLog`
// items: (string)
//
// An in-memory access log kept as one string: each request appends a line
// with `accessLog += line`. It was meant to be shipped and reset by a
// log forwarder that was never wired up. Every 100 requests an alert check
// searches the log for server errors, which makes V8 flatten the
// concatenation into one big sequential string; between checks the newest
// lines hang off it as a short cons-string chain. Either way it is one
// ever-growing string held by a module variable that is replaced on every
// request.
'use strict';
const http = require('node:http');

let accessLog = '';
let served = 0;
let alerts = 0;

const server = http.createServer((req, res) => {
  served++;
  const body = `hello #${served}\n`;
  const agent = req.headers['user-agent'] || '-';
  const referer = req.headers.referer || '-';
  accessLog += `${new Date().toISOString()} ${req.socket.remoteAddress} "${req.method} ${req.url} HTTP/${req.httpVersion}" 200 ${body.length} "${referer}" "${agent}" request-id=req-${String(served).padStart(10, '0')} worker=main\n`;
  if (served % 100 === 0 && accessLog.includes(' 500 ')) alerts++;
  res.end(body);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
