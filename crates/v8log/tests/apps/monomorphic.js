// A hot function that only ever sees one shape.
class Item {
  constructor(qty, price) {
    this.qty = qty;
    this.price = price;
  }
}
function lineTotal(item) {
  return item.qty * item.price;
}
const items = [];
for (let i = 0; i < 8; i++) items.push(new Item(i + 1, 2));
let total = 0;
for (let j = 0; j < 3e6; j++) total += lineTotal(items[j % 8]);
console.log(total);
