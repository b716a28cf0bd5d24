// expect: clean
// url: /dashboard/{seq}
//
// The fixed version of a per-request Subject subscription: each request
// takes exactly one value from the settings$ BehaviorSubject with
// pipe(take(1)), so its subscriber completes and leaves the Subject's
// observers array as soon as the current value is delivered.
'use strict';
const http = require('node:http');
const { BehaviorSubject, take } = require('rxjs');

const settings$ = new BehaviorSubject({ theme: 'light', locale: 'en' });

const server = http.createServer((req, res) => {
  const view = { path: req.url, widgets: ['orders', 'revenue', 'alerts'], theme: '?' };
  settings$.pipe(take(1)).subscribe((settings) => {
    view.theme = settings.theme;
  });
  res.end(`${view.path} ${view.theme} ${view.widgets.length}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
