// expect: clean
// url: /items/{seq}
//
// Bounded: item views are kept in two caches from two packages, both full
// and churning: lru-cache (`max: 3000`) by id and tiny-lru (size 4500) by
// slug, for ids cycling over 6000 items, so the same view often sits in
// both. When one cache evicts a view the other still holds, the other's
// retained size grows by it while the heap stays flat: what a holder
// retains creeps up or down round after round, and nothing leaks.
'use strict';
const http = require('node:http');
const { LRUCache } = require('lru-cache');
const { lru } = require('tiny-lru');

const byId = new LRUCache({ max: 3000 });
const bySlug = lru(4500);

class ItemView {
  constructor(id) {
    this.id = id;
    this.slug = `item-${id}`;
    this.html = `<div class="item">${'<span>detail</span>'.repeat(5)}</div>`;
  }
}

const server = http.createServer((req, res) => {
  const seq = Number(req.url.split('/').pop()) || 0;
  const id = (seq * 7919) % 6000;
  let view = byId.get(id) || bySlug.get(`item-${id}`);
  if (view === undefined) view = new ItemView(id);
  byId.set(id, view);
  bySlug.set(view.slug, view);
  res.end(view.html);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
