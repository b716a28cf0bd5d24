// expect: clean
//
// Control: a timer per request, always cleared. Each request arms a 30 s
// deadline (answer 503 if the work is not done) and an interval that
// records progress, then finishes its work over a few event-loop turns.
// Both timers are cleared when the response finishes, so the timer lists
// hold only the requests in flight.
'use strict';
const http = require('node:http');

let finished = 0;

function work(steps, done) {
  let acc = 0;
  const step = () => {
    for (let i = 0; i < 200; i++) acc = (acc * 33 + i) % 65521;
    if (--steps === 0) done(acc);
    else setImmediate(step);
  };
  setImmediate(step);
}

const server = http.createServer((req, res) => {
  const progress = { ticks: 0, url: req.url };
  const deadline = setTimeout(() => {
    res.statusCode = 503;
    res.end('too slow\n');
  }, 30_000);
  const ticker = setInterval(() => progress.ticks++, 10_000);
  res.on('finish', () => {
    clearTimeout(deadline);
    clearInterval(ticker);
    finished++;
  });
  work(3, (acc) => {
    if (!res.writableEnded) res.end(`result ${acc} (${progress.ticks} ticks)\n`);
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
