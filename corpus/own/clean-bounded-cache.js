// expect: clean
//
// Control: no leak. An LRU cache of rendered pages keyed by a per-request
// counter, capped at 1000 entries: it fills up during warm-up and then
// stays the same size, old entries evicted as new ones arrive.
'use strict';
const http = require('node:http');

const LIMIT = 1000;
const cache = new Map();
let counter = 0;

function render(key) {
  let page = cache.get(key);
  if (page === undefined) {
    page = `<html><body>${key.repeat(20)}</body></html>`;
    cache.set(key, page);
    if (cache.size > LIMIT) cache.delete(cache.keys().next().value);
  }
  return page;
}

const server = http.createServer((req, res) => {
  res.end(render(`${req.url}#${counter++}`));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
