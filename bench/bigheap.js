// A Node process holding a heap of about MB megabytes (default 300) of
// small objects and strings, for timing snapshots. Prints its pid when ready.
//   MB=300 node bench/bigheap.js
'use strict';
const target = Number(process.env.MB || 300) * 1e6;
class Item {
  constructor(i) {
    this.id = i;
    this.name = 'item-' + i;
    this.tags = [i & 7, i & 15];
  }
}
const keep = [];
while (process.memoryUsage().heapUsed < target) {
  for (let i = 0; i < 100000; i++) keep.push(new Item(keep.length));
}
globalThis.keep = keep;
console.log(`ready ${process.pid} heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
setInterval(() => {}, 1000);
