// expect: clean
//
// Control: lazy initialisation that completes early. The app has 40 page
// routes whose templates are compiled (with `new Function`) the first time
// each is requested and then reused. The load cycles through all 40, so
// every template is compiled within the first 40 requests, long before
// warm-up ends; afterwards the route table never changes.
'use strict';
const http = require('node:http');

const ROUTES = 40;
const sources = Array.from({ length: ROUTES }, (_, i) =>
  `<h1>Page ${i}</h1><p>{{greeting}}, visitor {{n}}.</p><ul>${'<li>{{item}}</li>'.repeat(i % 5 + 1)}</ul>`);
const compiled = new Array(ROUTES).fill(null);

function compile(source) {
  const body = source.replace(/`/g, '\\`').replace(/\{\{(\w+)\}\}/g, (_, key) => '${data.' + key + '}');
  return new Function('data', `return \`${body}\`;`);
}

function route(i) {
  if (compiled[i] === null) compiled[i] = compile(sources[i]);
  return compiled[i];
}

let served = 0;
const server = http.createServer((req, res) => {
  const n = ++served;
  const render = route(n % ROUTES);
  res.setHeader('content-type', 'text/html');
  res.end(render({ greeting: 'Hello', n, item: `item-${n % 7}` }));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
