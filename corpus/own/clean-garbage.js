// expect: clean
//
// No leak: every request builds a report out of short-lived objects,
// arrays, strings and closures, all of which die with the request.
'use strict';
const http = require('node:http');

function report(url) {
  const lines = [];
  for (let i = 0; i < 200; i++) {
    lines.push({ n: i, text: `line ${i} of ${url}`, marks: [i, i + 1, i + 2] });
  }
  const show = (l) => `${l.n}|${l.text}|${l.marks.join('/')}`;
  return lines.map(show).join('\n').length;
}

const server = http.createServer((req, res) => {
  res.end(`report of ${report(req.url)} bytes\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
