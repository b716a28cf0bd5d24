// expect: clean
// url: /users/{seq}
//
// Bounded: user profiles are memoised in tiny-lru with a size of 3000,
// keyed by `user:<id>` for ids cycling over 5000 users: the cache fills,
// then evicts on every miss. tiny-lru keeps its entries in a prototype-less
// object used as a dictionary, whose hash table is rewritten as keys come
// and go; the heap after GC stays flat.
'use strict';
const http = require('node:http');
const { lru } = require('tiny-lru');

const profiles = lru(3000);

const server = http.createServer((req, res) => {
  const seq = Number(req.url.split('/').pop()) || 0;
  const key = `user:${seq % 5000}`;
  let profile = profiles.get(key);
  if (profile === undefined) {
    profile = { key, name: `User ${seq % 5000}`, roles: ['reader'], seen: Date.now() };
    profiles.set(key, profile);
  }
  res.end(profile.name);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
