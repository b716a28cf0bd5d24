// expect: leak
// holder: Array `auditTrail`
// items: AuditEntry
//
// A consumer with a big, fixed heap: a catalogue of about CATALOGUE_MB MB
// (default 150) of small product records built at start, then a batch of
// 20 messages every 20 ms, each recorded as an AuditEntry in the module
// array `auditTrail`, which nothing trims (about 1000 entries a second).
// Prints `consumer started (pid N, heap M MB)` once the catalogue is built.
'use strict';

class Product {
  constructor(id) {
    this.id = id;
    this.sku = `SKU-${id}`;
    this.price = 100 + (id % 997);
    this.tags = [id % 7, id % 11];
  }
}

class AuditEntry {
  constructor(message) {
    this.id = message.id;
    this.note = `handled message ${message.id} of batch ${message.batch}`.padEnd(120, '.');
    this.at = Date.now();
  }
}

const catalogue = new Map();
const target = Number(process.env.CATALOGUE_MB || 150) * 1e6;
for (let id = 0; process.memoryUsage().heapUsed < target; id++) {
  catalogue.set(id, new Product(id));
}

const auditTrail = [];
let batch = 0;
function consume() {
  batch++;
  for (let i = 0; i < 20; i++) {
    const message = { id: batch * 20 + i, batch };
    // Messages refer to products: the catalogue stays alive with the consumer.
    if (!catalogue.has(message.id % catalogue.size)) throw new Error('unknown product');
    auditTrail.push(new AuditEntry(message));
  }
}
setInterval(consume, 20);
console.log(`consumer started (pid ${process.pid}, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB)`);
