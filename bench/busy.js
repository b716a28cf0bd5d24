// node bench/busy.js [MARKER]: a process kept busy without a load driver —
// request-like work (objects, arrays, strings, a JSON round trip: lots of
// short-lived garbage, so many GCs) in 5 ms batches, yielding to the event
// loop between batches as a server does. Writes the work done so far to
// stdout every 200 ms, so a benchmark can read its throughput.
'use strict';
let done = 0;
function unit(i) {
  const rows = [];
  for (let j = 0; j < 40; j++) rows.push({ j, label: `row-${j}-${i}` });
  return JSON.parse(JSON.stringify(rows)).length;
}
function batch() {
  const end = Date.now() + 5;
  while (Date.now() < end) done += unit(done) > 0 ? 1 : 0;
  setImmediate(batch);
}
setInterval(() => process.stdout.write(`${done}\n`), 200);
console.log('busy');
batch();
