// expect: clean
//
// Control: string-heavy rendering. Each request builds a 50-item order
// history as objects with long string fields, serialises it with
// JSON.stringify (about 20 kB of text) and sends it. Lots of strings are
// allocated per request, none is kept.
'use strict';
const http = require('node:http');

function orderHistory(n, url) {
  const orders = [];
  for (let i = 0; i < 50; i++) {
    orders.push({
      id: `ord-${n}-${i}`,
      customer: `Customer ${n % 1000} <customer${n % 1000}@example.test>`,
      address: `${i + 1} Long Street, Apartment ${n % 300}, Springfield, 12345`,
      items: [`widget-${i}`, `gadget-${(i * 3) % 17}`, `gizmo-${(n + i) % 23}`],
      note: `requested via ${url} at position ${i}`.padEnd(120, '.'),
    });
  }
  return orders;
}

let served = 0;
const server = http.createServer((req, res) => {
  const body = JSON.stringify({ page: ++served, orders: orderHistory(served, req.url) });
  res.setHeader('content-type', 'application/json');
  res.end(body);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
