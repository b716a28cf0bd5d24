// expect: leak
// holder: Array `finishedJobs`
// items: Job
// thread: worker
// url: /jobs/{seq}
//
// An HTTP server that hands every request to one long-lived worker_threads
// Worker (worker-jobs-worker.js, started at boot) and answers with the
// worker's reply. The worker keeps each Job it ran (id, url, a ~200-char
// result, a timestamp) in its module array `finishedJobs` forever: the leak
// lives in the worker's isolate; the main thread's heap stays flat.
'use strict';
const http = require('node:http');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const worker = new Worker(path.join(__dirname, 'worker-jobs-worker.js'), {
  workerData: { keepJobs: true },
});
const waiting = new Map();
let nextId = 0;

worker.on('message', ({ id, result }) => {
  const res = waiting.get(id);
  waiting.delete(id);
  if (res) res.end(`${result}\n`);
});
worker.on('error', (err) => {
  console.error(`worker failed: ${err.stack || err}`);
  process.exit(1);
});

const server = http.createServer((req, res) => {
  const id = ++nextId;
  waiting.set(id, res);
  worker.postMessage({ id, url: req.url });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
