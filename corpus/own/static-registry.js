// expect: leak
// holder: Array `instances`
// items: RequestScope
//
// A class-level registry. RequestScope keeps `static instances = []` so a
// debug endpoint can list "live" scopes; the constructor registers every
// scope, and `dispose()` is supposed to remove it, but the handler never
// calls it (the scope just goes out of scope, which is not the same thing
// as disposing it). Every scope, with its copied headers and attributes,
// stays in the static array.
'use strict';
const http = require('node:http');

class RequestScope {
  static instances = [];

  constructor(id, req) {
    this.id = id;
    this.method = req.method;
    this.url = req.url;
    this.headers = { ...req.headers };
    this.attributes = new Map([['started', id]]);
    RequestScope.instances.push(this);
  }

  dispose() {
    const at = RequestScope.instances.indexOf(this);
    if (at !== -1) RequestScope.instances.splice(at, 1);
  }
}

let ids = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/debug/scopes') {
    res.end(`${RequestScope.instances.length} live scopes\n`);
    return;
  }
  const scope = new RequestScope(++ids, req);
  scope.attributes.set('user', 'anonymous');
  res.end(`scope ${scope.id} for ${scope.url}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
