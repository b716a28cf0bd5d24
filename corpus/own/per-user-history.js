// expect: leak
// holder: the `history` Arrays of 5000 User objects
// items: {path, agent}
//
// Leak: 5000 user records are loaded at start-up, and every request appends
// an entry to its user's `history` array, which nothing ever trims. Each
// array grows by less than one entry a round (requests spread over 5000
// users), so no single holder adds enough to stand out; together they grow
// the heap by about 120 B per request, round after round. Expected: the
// `history` arrays of the users (or, at least, a leak: the heap grows
// steadily), with entries `{path, at, agent}` about 1.00 per request.
'use strict';
const http = require('node:http');

class User {
  constructor(id) {
    this.id = id;
    this.name = `user-${id}`;
    this.history = [];
  }
}

const users = new Map();
for (let id = 0; id < 5000; id++) users.set(id, new User(id));
let seq = 0;

const server = http.createServer((req, res) => {
  const user = users.get(seq++ % 5000);
  user.history.push({ path: req.url, at: Date.now(), agent: req.headers['user-agent'] || '' });
  res.end(user.name);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
