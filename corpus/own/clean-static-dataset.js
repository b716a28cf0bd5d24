// expect: clean
//
// Control: a big but fixed heap. At startup the app builds a product
// catalogue of 60,000 records (about 15 MB, generated deterministically) and
// an index by category; requests only read it and build small responses.
// The heap is large from the first snapshot on and stays flat.
'use strict';
const http = require('node:http');

const CATEGORIES = ['books', 'garden', 'kitchen', 'toys', 'tools', 'music', 'sports', 'office'];

class Product {
  constructor(id) {
    this.id = id;
    this.sku = `SKU-${String(id).padStart(7, '0')}`;
    this.name = `Product number ${id} in ${CATEGORIES[id % CATEGORIES.length]}`;
    this.category = CATEGORIES[id % CATEGORIES.length];
    this.price = 100 + ((id * 7919) % 10000) / 100;
    this.stock = (id * 31) % 250;
  }
}

const catalogue = [];
const byCategory = new Map(CATEGORIES.map((c) => [c, []]));
for (let id = 0; id < 60_000; id++) {
  const product = new Product(id);
  catalogue.push(product);
  byCategory.get(product.category).push(product);
}

let lookups = 0;
const server = http.createServer((req, res) => {
  const n = ++lookups;
  const product = catalogue[(n * 104729) % catalogue.length];
  const siblings = byCategory.get(product.category);
  const related = [1, 2, 3].map((k) => siblings[(n + k * 977) % siblings.length].sku);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ sku: product.sku, name: product.name, price: product.price, related }));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
