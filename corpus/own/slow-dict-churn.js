// expect: leak
// holder: Object `jobsById`
// items: Job
//
// A slow leak under heavy churn: every request builds ~300 short-lived
// objects, and one request in ten registers a small Job (32 bytes) in a
// dictionary keyed by job number that only a (never called) completion
// handler deletes from. Three rounds add under 64 KiB, which looks like
// noise; it is 0.1 Job per request, forever.
'use strict';
const http = require('node:http');

class Job {
  constructor(id) {
    this.id = id;
    this.state = 1;
  }
}

const jobsById = {};
let requests = 0;
let jobs = 0;

function complete(id) {
  delete jobsById[id];
}

function churn(path) {
  const cells = [];
  for (let i = 0; i < 300; i++) cells.push({ i, path, odd: i % 2 === 1 });
  return cells.filter((c) => c.odd).length;
}

const server = http.createServer((req, res) => {
  requests++;
  if (requests % 10 === 0) {
    const id = jobs++;
    jobsById[id] = new Job(id);
    if (req.headers['x-complete']) complete(id);
  }
  res.end(`cells ${churn(req.url)}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
