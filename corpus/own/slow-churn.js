// expect: leak
// holder: Array `auditLog`
// items: AuditEntry
//
// Leak, slow and buried in churn: each request builds ~40 kB of short-lived
// garbage, and one request in 50 files an AuditEntry into a module-level
// array that is never trimmed.
// Expected culprit: the array `auditLog`, holding AuditEntry objects.
'use strict';
const http = require('node:http');

class AuditEntry {
  constructor(n, url) {
    this.n = n;
    this.url = url;
    this.detail = `audit ${n} `.repeat(200);
  }
}

const auditLog = [];
let served = 0;

function churn(url) {
  const rows = [];
  for (let i = 0; i < 300; i++) rows.push({ i, label: `${url}-${i}`, tags: [i, i + 1] });
  return rows.filter((r) => r.i % 7 === 0).map((r) => r.label).join(',').length;
}

const server = http.createServer((req, res) => {
  served++;
  if (served % 50 === 0) auditLog.push(new AuditEntry(served, req.url));
  res.end(`size ${churn(req.url)}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
