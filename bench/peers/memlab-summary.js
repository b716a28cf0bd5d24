// Peer benchmark: memlab 2.0.5 doing the same job as `leakscope summary`:
// load the heap with dominators and retained sizes, then group by class.
// Run from a directory where `npm install memlab@2.0.5` was done (bench/run.sh does it).
'use strict';
const { getFullHeapFromFile } = require('@memlab/heap-analysis');

(async () => {
  const heap = await getFullHeapFromFile(process.argv[2]);
  const classes = new Map();
  heap.nodes.forEach((node) => {
    const c = classes.get(node.name) || { count: 0, self: 0 };
    c.count++;
    c.self += node.self_size;
    classes.set(node.name, c);
  });
  console.log(`${classes.size} classes, ${heap.nodes.length} nodes`);
})();
