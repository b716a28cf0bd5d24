// leakscope demo: a server without a leak. Each request allocates short-lived
// garbage (objects, arrays, strings, closures) that dies with the request;
// a bounded LRU-style cache fills up to 100 entries and then stays flat.
// A leak detector must report nothing here, however long it runs.
'use strict';
const http = require('node:http');

const cache = new Map();
const CACHE_LIMIT = 100;

function render(url) {
  const rows = [];
  for (let i = 0; i < 50; i++) rows.push({ i, label: `row-${i}-${url}` });
  return rows.map((r) => `${r.i}:${r.label}`).join('\n');
}

const server = http.createServer((req, res) => {
  const key = req.url.slice(0, 32);
  let body = cache.get(key);
  if (body === undefined) {
    body = render(key);
    cache.set(key, body);
    if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value);
  }
  res.end(`${body.length}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
