// expect: leak
// holder: memo
// package: async
// items: Array
// url: /geo?ip=10.{seq}
//
// async.memoize without a bound: the (callback-style) geo lookup is wrapped in
// async.memoize keyed by the client IP. async keeps every result's callback
// arguments in the closure variable `memo` (an Object.create(null)) and never
// evicts, so each distinct address adds an entry for the life of the process.
'use strict';
const http = require('node:http');
const async = require('async');

function lookupGeo(ip, callback) {
  setImmediate(() => callback(null, {
    ip,
    country: 'NL',
    city: 'Amsterdam',
    asn: 'AS1136',
    coords: [52.37, 4.89],
  }));
}

const geo = async.memoize(lookupGeo);

const server = http.createServer((req, res) => {
  const ip = new URL(req.url, 'http://localhost').searchParams.get('ip') || '127.0.0.1';
  geo(ip, (err, info) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(err ? { error: String(err) } : info));
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
