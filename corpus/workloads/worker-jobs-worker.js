// Worker of worker-jobs.js (keepJobs: true, the leak) and clean-worker-jobs.js
// (keepJobs: false). Not an app on its own: it must run in a worker thread.
// Each {id, url} message becomes a Job with a ~200-char result; the reply
// carries the result. With keepJobs every Job is pushed into the module array
// `finishedJobs` and never removed; without it only `finishedCount` grows.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');

const keepJobs = Boolean(workerData && workerData.keepJobs);
const finishedJobs = [];
let finishedCount = 0;

class Job {
  constructor(id, url) {
    this.id = id;
    this.url = url;
    this.result = `job ${id} ${url} done:`.padEnd(200, '0123456789');
    this.finishedAt = Date.now();
  }
}

parentPort.on('message', ({ id, url }) => {
  const job = new Job(id, url);
  if (keepJobs) finishedJobs.push(job);
  finishedCount++;
  parentPort.postMessage({ id, result: job.result });
});
