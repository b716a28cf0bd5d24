// expect: leak
// holder: the 60000 ms timer list
// items: Timeout
//
// Leak: every request starts a polling interval that is never cleared. Each
// Timeout keeps its callback, and the callback keeps the request's report.
// Expected culprit: the 60000 ms timer list, holding Timeout objects whose
// callback `pollStatus` retains a StatusReport.
'use strict';
const http = require('node:http');

class StatusReport {
  constructor(url) {
    this.url = url;
    this.samples = new Array(32).fill(0);
  }
}

const server = http.createServer((req, res) => {
  const report = new StatusReport(req.url);
  setInterval(function pollStatus() {
    report.samples.push(Date.now());
  }, 60_000);
  res.end('polling\n');
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
