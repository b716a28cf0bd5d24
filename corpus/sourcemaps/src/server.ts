// expect: leak
// holder: Array `auditTrail`
// items: Object
//
// The source-map test app (corpus/sourcemaps/README.md). Written in
// TypeScript and built three ways by corpus/sourcemaps/build.sh OUT: tsc with
// .map files, an esbuild bundle with an inline map, and tsc output whose maps
// are missing. Routes, each leaking in its own way:
//
//   /session…    one Session per request in the Map `sessions`
//   /subscribe…  one closure per request in the array `listeners`
//   /all…        all three
//   anything else  one plain object per request in the array `auditTrail`

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditKind, recordAudit } from './audit';
import { openSession, requestData, subscribe } from './session';

/** What the handler answers. */
interface Reply {
  status: number;
  body: string;
}

type Route = (req: http.IncomingMessage, seq: number) => Reply;

let served: number = 0;

const routes: ReadonlyArray<[prefix: string, route: Route]> = [
  ['/session', (req, seq) => ({ status: 200, body: openSession(requestData(req, seq)).describe() })],
  ['/subscribe', (req, seq) => ({ status: 200, body: `subscribers: ${subscribe(requestData(req, seq))}` })],
  [
    '/all',
    (req, seq) => {
      const data = requestData(req, seq);
      openSession(data);
      subscribe(data);
      return { status: 200, body: `audited: ${recordAudit(req, AuditKind.Request)}` };
    },
  ],
];

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  served += 1;
  const path: string = req.url ?? '/';
  const route: Route =
    routes.find(([prefix]) => path.startsWith(prefix))?.[1] ??
    ((r) => ({ status: 200, body: `audited: ${recordAudit(r)}` }));
  const reply: Reply = route(req, served);
  res.writeHead(reply.status, { 'content-type': 'text/plain' });
  res.end(reply.body + '\n');
}

const server: http.Server = http.createServer(handle);

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`listening on http://127.0.0.1:${port}`);
});
