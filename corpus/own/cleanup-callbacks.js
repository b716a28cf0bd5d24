// expect: leak
// holder: Object `cleanupByRequest`
// items: closure releaseScratch
// url: /render?page={seq}
//
// Cleanup callbacks that never run. Each request borrows a scratch area for
// rendering and registers a `releaseScratch` closure under its request
// number, to be run by `finishRender` when the render completes. The
// cache-hit fast path answers early and returns before `finishRender`, so
// for the (majority) cached pages the callback stays in the object forever,
// together with the scratch area it closes over.
'use strict';
const http = require('node:http');

const cleanupByRequest = {};
const rendered = new Map();
let requestNo = 0;

function finishRender(no) {
  const release = cleanupByRequest[no];
  delete cleanupByRequest[no];
  if (release) release();
}

function render(page, scratch) {
  for (let i = 0; i < scratch.cells.length; i++) scratch.cells[i] = (page.length * 7 + i) % 251;
  return `<section>${page}:${scratch.cells.slice(0, 8).join('')}</section>`;
}

const server = http.createServer((req, res) => {
  const no = ++requestNo;
  const page = new URL(req.url, 'http://localhost').pathname;
  const scratch = { owner: no, cells: new Array(24).fill(0), note: `scratch for ${req.url}` };
  cleanupByRequest[no] = function releaseScratch() {
    scratch.cells.length = 0;
  };
  const cached = rendered.get(page);
  if (cached !== undefined) {
    res.end(cached);
    return; // forgot finishRender(no)
  }
  const html = render(page, scratch);
  rendered.set(page, html);
  res.end(html);
  finishRender(no);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
