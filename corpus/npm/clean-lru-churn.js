// expect: clean
// url: /products/{seq}
//
// Bounded: product pages are cached in lru-cache with `max: 4000`, keyed by
// product id, and ids cycle over 6000 products, so the cache fills during
// the first rounds and then churns (every miss evicts the least recently
// used entry). Its internal Map and free-list arrays keep being rewritten
// while the heap stays flat; nothing grows once the cache is full.
'use strict';
const http = require('node:http');
const { LRUCache } = require('lru-cache');

const pages = new LRUCache({ max: 4000 });

class ProductPage {
  constructor(id) {
    this.id = id;
    this.html = `<article data-id="${id}">${'<p>spec</p>'.repeat(6)}</article>`;
  }
}

const server = http.createServer((req, res) => {
  const seq = Number(req.url.split('/').pop()) || 0;
  const id = seq % 6000;
  let page = pages.get(id);
  if (page === undefined) {
    page = new ProductPage(id);
    pages.set(id, page);
  }
  res.end(page.html);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
