// expect: leak
// holder: Object `orderIndex`
// items: OrderDraft
// url: /checkout?customer={seq}
//
// An accidental global in sloppy mode. `draftOrder` was meant to keep a
// per-call scratch index of the drafts it builds, but its `let` was lost in
// a refactor, so the first assignment creates a property on the global
// object instead. The `typeof` guard hides the mistake (no ReferenceError),
// and the index keeps every OrderDraft ever built: one per request, keyed by
// a server-side order number, so no key ever repeats.
const http = require('node:http');

class OrderDraft {
  constructor(no, customer, path) {
    this.no = no;
    this.customer = customer;
    this.path = path;
    this.lines = [{ sku: `sku-${customer % 97}`, qty: 1 + (no % 4) }];
  }
}

let nextOrder = 0;

function draftOrder(customer, path) {
  // meant: `let orderIndex = {};`
  orderIndex = typeof orderIndex === 'object' ? orderIndex : {};
  const draft = new OrderDraft(++nextOrder, customer, path);
  orderIndex[`order-${draft.no}`] = draft;
  return draft;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const draft = draftOrder(Number(url.searchParams.get('customer') || 0), url.pathname);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ order: draft.no, lines: draft.lines.length }));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
