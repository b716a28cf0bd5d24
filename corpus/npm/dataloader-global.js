// expect: leak
// holder: _cacheMap
// package: dataloader
// items: Promise
// url: /users/{seq}
//
// A DataLoader created once at module level instead of once per request.
// DataLoader's memoization cache is meant to live for a single request; a
// process-wide loader caches the promise of every user id ever loaded in
// its _cacheMap (a Map) and never clears it, so it grows with the number of
// distinct ids (and serves stale data too).
'use strict';
const http = require('node:http');
const DataLoader = require('dataloader');

async function batchUsers(ids) {
  return ids.map((id) => ({ id, name: `user ${id}`, roles: ['reader'], plan: 'free' }));
}

const userLoader = new DataLoader(batchUsers);

const server = http.createServer((req, res) => {
  const id = req.url.slice('/users/'.length);
  userLoader.load(id).then((user) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(user));
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
