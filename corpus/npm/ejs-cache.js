// expect: leak
// holder: _data
// package: ejs
// items: closure anonymous
// url: /preview?draft=d{seq}
//
// Template cache keyed by unique names: the e-mail preview endpoint renders
// the draft being edited with { cache: true } and uses the draft id (with its
// revision) as the `filename` cache key. ejs's built-in cache is a plain
// object (ejs.cache._data) with no size limit, so every draft revision
// compiles a new template function that is kept forever.
'use strict';
const http = require('node:http');
const ejs = require('ejs');

function draftSource(id) {
  return `<h1>Hello <%= user.name %></h1>
<p>Your order <%= order.id %> (draft ${id}) ships soon.</p>
<ul><% order.items.forEach(function (item) { %><li><%= item.name %> x <%= item.qty %></li><% }) %></ul>`;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const draft = url.searchParams.get('draft') || 'default';
  const html = ejs.render(
    draftSource(draft),
    { user: { name: 'Ada' }, order: { id: 42, items: [{ name: 'pen', qty: 2 }] } },
    { cache: true, filename: `drafts/${draft}.ejs` },
  );
  res.setHeader('content-type', 'text/html');
  res.end(html);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
