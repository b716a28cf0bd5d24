// expect: clean
// url: /products/{seq}
//
// express-session configured for anonymous traffic: saveUninitialized is
// false and the product pages only read the session, so a client that sends
// no cookie gets no session and nothing is written to the MemoryStore. (The
// leaky twin, session-store.js, saves a session for every cookie-less
// request.) Only /login would create a session; the load never calls it.
'use strict';
const express = require('express');
const session = require('express-session');

let nextId = 0;
const app = express();
app.use(session({
  secret: 'corpus-not-a-secret',
  resave: false,
  saveUninitialized: false,
  genid: () => `sess-${(nextId++).toString(36).padStart(8, '0')}`,
  cookie: { maxAge: 3600 * 1000 },
}));

app.post('/login', (req, res) => {
  req.session.user = 'ada';
  res.send('welcome\n');
});
app.get('/products/:id', (req, res) => {
  const user = req.session.user || 'guest';
  res.json({ id: req.params.id, viewer: user, price: 1999 });
});
app.get('/', (req, res) => res.send('ok\n'));

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
