// expect: leak
// holder: observers
// package: rxjs
// items: SafeSubscriber
// url: /dashboard/{seq}
//
// Subscribing per request to a long-lived Subject and never unsubscribing:
// each request subscribes to the app-wide `settings$` stream to render with
// the current theme, but keeps no Subscription to unsubscribe. The Subject
// holds every Subscriber in its observers array (and each one keeps the
// request's view model through the callback) until the Subject completes,
// which it never does.
'use strict';
const http = require('node:http');
const { BehaviorSubject } = require('rxjs');

const settings$ = new BehaviorSubject({ theme: 'light', locale: 'en' });

class DashboardView {
  constructor(path) {
    this.path = path;
    this.widgets = ['orders', 'revenue', 'alerts', 'inventory'];
    this.theme = 'light';
  }
}

const server = http.createServer((req, res) => {
  const view = new DashboardView(req.url);
  settings$.subscribe((settings) => {
    view.theme = settings.theme;
  });
  res.end(`${view.path} ${view.theme} ${view.widgets.length}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
