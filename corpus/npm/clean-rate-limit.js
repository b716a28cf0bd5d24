// expect: clean
// url: /api/quotes/{seq}
//
// express-rate-limit with its built-in memory store, keyed by client IP
// (the default): the store holds one small counter per client address and
// resets them every window, so however many requests arrive from the same
// clients the store does not grow. Limits are generous enough that the load
// is never throttled.
'use strict';
const express = require('express');
const { rateLimit } = require('express-rate-limit');

const app = express();
app.use(rateLimit({
  windowMs: 60 * 1000,
  limit: 1_000_000,
  standardHeaders: 'draft-8',
  legacyHeaders: false,
}));
app.get('/api/quotes/:id', (req, res) => {
  res.json({ id: req.params.id, price: 1999, currency: 'EUR' });
});
app.get('/', (req, res) => res.send('ok\n'));

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
