// expect: leak
// holder: data
// package: node-cache
// items: {v}
// url: /products/p{seq}?currency=EUR
//
// A response cache without a TTL: product responses are cached in node-cache
// keyed by product id, created with the defaults (stdTTL 0 = never expire,
// maxKeys -1 = unlimited). The catalogue is effectively unbounded, so the
// cache's data object, one {t, v} record per key, only grows; the periodic
// check never evicts anything because nothing has an expiry.
'use strict';
const http = require('node:http');
const NodeCache = require('node-cache');

const cache = new NodeCache();

function loadProduct(id, currency) {
  return {
    id,
    currency,
    title: `Product ${id}`,
    price: 1999,
    tags: ['new', 'sale', 'featured'],
  };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const id = url.pathname.slice('/products/'.length);
  const currency = url.searchParams.get('currency') || 'USD';
  const key = `product:${id}:${currency}`;
  let product = cache.get(key);
  if (product === undefined) {
    product = loadProduct(id, currency);
    cache.set(key, product);
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(product));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
