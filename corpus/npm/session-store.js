// expect: leak
// holder: sessions
// package: express-session
// items: (concatenated string)
// url: /cart?item={seq}
//
// express-session with its default MemoryStore and saveUninitialized: true.
// The load comes from clients that never send the session cookie back
// (health checkers, API clients, bots), so every request starts a brand-new
// session and the store keeps its JSON string forever: MemoryStore only
// drops an expired session when somebody asks for it again, and nobody does.
'use strict';
const express = require('express');
const session = require('express-session');

let nextId = 0;
const app = express();
app.use(session({
  secret: 'corpus-not-a-secret',
  resave: false,
  saveUninitialized: true,
  genid: () => `sess-${(nextId++).toString(36).padStart(8, '0')}`,
  cookie: { maxAge: 24 * 3600 * 1000 },
}));

app.get('/cart', (req, res) => {
  req.session.cart = req.session.cart || [];
  req.session.cart.push({ item: String(req.query.item), qty: 1 });
  req.session.visitedAt = '2024-01-01T00:00:00.000Z';
  res.json({ items: req.session.cart.length });
});
app.get('/', (req, res) => res.send('ok\n'));

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
