// expect: leak
// holder: all
// package: mitt
// items: Array
// url: /upload/{seq}
//
// A tiny event bus (mitt) used for progress events: each upload request
// registers a handler under its own event type `progress:<id>` and never
// calls off() when the upload finishes. mitt keeps a Map named `all` from
// event type to handler array, so the Map gains an entry (and an array, and
// the closure with the request's state) for every request.
'use strict';
const http = require('node:http');
const mitt = require('mitt');

const events = mitt();

const server = http.createServer((req, res) => {
  const id = req.url.slice('/upload/'.length);
  const upload = { id, received: 0, chunks: new Array(16).fill(0) };
  events.on(`progress:${id}`, function onProgress(bytes) {
    upload.received += bytes;
  });
  events.emit(`progress:${id}`, 512);
  res.end(`upload ${id}: ${upload.received} bytes\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
