// expect: leak
// holder: Map `sessions`
// items: UserSession
//
// Leak, in an ES module: sessions are created per request and stored in a
// module-level Map that nothing ever deletes from.
// Expected culprit: the Map `sessions`, holding UserSession objects.
import http from 'node:http';

class UserSession {
  constructor(id, agent) {
    this.id = id;
    this.agent = agent;
    this.cart = [{ sku: `sku-${id}`, qty: 1 }];
  }
}

const sessions = new Map();
let nextId = 0;

const server = http.createServer((req, res) => {
  const id = nextId++;
  sessions.set(`s-${id}`, new UserSession(id, req.headers['user-agent'] ?? 'none'));
  res.end(`session ${id}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
