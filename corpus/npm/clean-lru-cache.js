// expect: clean
// url: /fragments/{seq}
//
// The fixed version of an unbounded memo: rendered product fragments are
// cached in lru-cache with `max: 500` (and a TTL), so every unique URL still
// gets cached but the least recently used entry is evicted once the cache
// is full. Heap after warm-up stays flat however many distinct keys arrive.
'use strict';
const http = require('node:http');
const { LRUCache } = require('lru-cache');

const fragments = new LRUCache({ max: 500, ttl: 10 * 60 * 1000 });

class Fragment {
  constructor(key) {
    this.key = key;
    this.html = `<section data-key="${key}">${'<li>item</li>'.repeat(8)}</section>`;
  }
}

const server = http.createServer((req, res) => {
  let fragment = fragments.get(req.url);
  if (fragment === undefined) {
    fragment = new Fragment(req.url);
    fragments.set(req.url, fragment);
  }
  res.setHeader('content-type', 'text/html');
  res.end(fragment.html);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
