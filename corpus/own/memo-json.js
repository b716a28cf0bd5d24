// expect: leak
// holder: Object `quoteMemo`
// items: Quote
// url: /quote?sku=s{seq}&qty=2
//
// A memoized function keyed by JSON. `priceQuote` caches results in a plain
// object under `JSON.stringify(args)`. The args include the session id, and
// clients that do not send the session cookie get a fresh session on every
// request, so every key is new and the object dictionary only grows.
'use strict';
const http = require('node:http');

class Quote {
  constructor(args) {
    this.sku = args.sku;
    this.qty = args.qty;
    this.unit = 100 + (args.sku.length * 17) % 50;
    this.total = this.unit * args.qty;
    this.session = args.session;
  }
}

const quoteMemo = {};

function priceQuote(args) {
  const key = JSON.stringify(args);
  if (!(key in quoteMemo)) quoteMemo[key] = new Quote(args);
  return quoteMemo[key];
}

let sessions = 0;
function sessionOf(req) {
  const match = /sid=(\w+)/.exec(req.headers.cookie || '');
  return match ? match[1] : `anon${++sessions}`;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const session = sessionOf(req);
  const quote = priceQuote({ sku: url.searchParams.get('sku') || 'none', qty: Number(url.searchParams.get('qty') || 1), session });
  res.setHeader('set-cookie', `sid=${session}`);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ total: quote.total }));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
