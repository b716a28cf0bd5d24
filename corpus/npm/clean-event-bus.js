// expect: clean
// url: /orders/{seq}
//
// An eventemitter3 bus used correctly: each request subscribes to the
// app-wide `price-changed` event while it is being served and removes its
// listener when the response finishes (or closes), so the bus only ever
// holds the listeners of requests in flight.
'use strict';
const http = require('node:http');
const EventEmitter = require('eventemitter3');

const bus = new EventEmitter();
let price = 1999;

const server = http.createServer((req, res) => {
  const quote = { path: req.url, price, lines: new Array(8).fill(0) };
  function onPriceChanged(next) {
    quote.price = next;
  }
  bus.on('price-changed', onPriceChanged);
  const cleanup = () => bus.off('price-changed', onPriceChanged);
  res.once('finish', cleanup);
  res.once('close', cleanup);
  if (req.url.endsWith('0')) bus.emit('price-changed', ++price);
  res.end(`${quote.path} ${quote.price}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
