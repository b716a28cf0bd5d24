// expect: leak
// holder: variable `current`
// items: Thing
//
// Leak: the shared closure context (the "Meteor" leak). `unused` refers to
// `previous`, so V8 puts `previous` in the context shared by every closure
// made in `replaceThing`, including `describe`, which the new Thing keeps.
// Each Thing therefore keeps the one before it: an ever-growing chain.
// Expected culprit: the module variable `current`, holding Thing objects
// linked through the closure `describe`.
'use strict';
const http = require('node:http');

class Thing {
  constructor(n, describe) {
    this.payload = 'x'.repeat(512) + n;
    this.describe = describe;
  }
}

let current = null;
let count = 0;

function replaceThing() {
  const previous = current;
  const unused = function () {
    if (previous) return 'had a previous thing';
  };
  unused.length;
  current = new Thing(count++, function describe() {
    return 'a thing';
  });
}

const server = http.createServer((req, res) => {
  replaceThing();
  res.end(`thing ${count}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
