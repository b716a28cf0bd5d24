// Optimized for small integers, then given strings, then doubles. Each
// phase starts once the event loop has run, so the optimized code compiled
// in the background is in place before the types change.
function add(a, b) {
  return a + b;
}
let r = 0;
const phases = [
  () => { for (let i = 0; i < 2e6; i++) r = add(i & 0xff, 1); },
  () => { for (let i = 0; i < 2e6; i++) r = add('n', i); },
  () => { for (let i = 0; i < 2e6; i++) r = add(i + 0.5, 0.25); },
];
function next(i) {
  if (i === phases.length) return console.log(typeof r);
  phases[i]();
  setTimeout(() => next(i + 1), 200);
}
next(0);
