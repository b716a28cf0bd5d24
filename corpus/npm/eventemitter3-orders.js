// expect: leak
// holder: _events
// package: eventemitter3
// items: EE
// url: /orders/{seq}
//
// An event bus with one event name per order: creating an order subscribes
// to `shipped:<id>` so that the customer can be notified, but most orders are
// picked up by another worker (or cancelled) and the event never fires here,
// and nothing ever calls off(). eventemitter3 keeps an EE record per listener
// in the bus's _events object, keyed by event name, so the object grows by
// one key per order.
'use strict';
const http = require('node:http');
const EventEmitter = require('eventemitter3');

const bus = new EventEmitter();

class Order {
  constructor(id) {
    this.id = id;
    this.lines = [{ sku: 'A-1', qty: 1 }, { sku: 'B-2', qty: 2 }];
    this.state = 'created';
  }
}

const server = http.createServer((req, res) => {
  const order = new Order(req.url.slice('/orders/'.length));
  bus.on(`shipped:${order.id}`, function notifyCustomer(tracking) {
    order.state = `shipped ${tracking}`;
  });
  res.end(`order ${order.id} ${order.state}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
