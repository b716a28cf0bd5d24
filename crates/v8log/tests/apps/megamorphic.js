// A hot function reading `.qty` from objects of eight different shapes.
function lineTotal(item) {
  return item.qty * item.price;
}
const items = [];
for (let i = 0; i < 8; i++) {
  const item = {};
  item['extra' + i] = i; // a different first property: a different map
  item.qty = i + 1;
  item.price = 2;
  items.push(item);
}
let total = 0;
for (let j = 0; j < 3e6; j++) total += lineTotal(items[j % 8]);
console.log(total);
