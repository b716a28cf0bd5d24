// expect: leak
// holder: Array `stageTimings`
//
// Plain numbers, no objects. For a "p99 per stage" report, every request
// records how long each of its 16 pipeline stages took, as floating-point
// milliseconds, into one module-level array. The report was meant to reset
// the array, but it is only built when someone opens /stats, so under
// normal traffic the array grows by 16 doubles (128 bytes) per request.
// V8 stores them unboxed in the array's backing store: the holder grows
// while no new JavaScript objects appear at all.
'use strict';
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const STAGES = 16;
const stageTimings = [];

function runStage(stage, seed) {
  let acc = seed;
  for (let i = 0; i < 40; i++) acc = (acc * 31 + stage + i) % 1000003;
  return acc;
}

const server = http.createServer((req, res) => {
  if (req.url === '/stats') {
    const sorted = stageTimings.slice().sort((a, b) => a - b);
    res.end(`p99 ${sorted[Math.floor(sorted.length * 0.99)] || 0}\n`);
    stageTimings.length = 0;
    return;
  }
  let value = req.url.length;
  for (let stage = 0; stage < STAGES; stage++) {
    const started = performance.now();
    value = runStage(stage, value);
    stageTimings.push(performance.now() - started + 0.5);
  }
  res.end(`value ${value}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
