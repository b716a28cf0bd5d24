// expect: leak
// holder: Map `renderCache`
// items: RenderedPage
//
// A memo cache keyed by the whole URL, query string included: clients that
// add a cache-busting parameter make every key new, so the Map only grows.
'use strict';
const http = require('node:http');

class RenderedPage {
  constructor(key) {
    this.key = key;
    this.html = `<main>${key.repeat(3)}</main>`;
    this.at = Date.now();
  }
}

const renderCache = new Map();

function render(key) {
  let page = renderCache.get(key);
  if (page === undefined) {
    page = new RenderedPage(key);
    renderCache.set(key, page);
  }
  return page;
}

let bust = 0;
const server = http.createServer((req, res) => {
  const page = render(`${req.url}&_=${bust++}`);
  res.setHeader('content-type', 'text/html');
  res.end(page.html);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
