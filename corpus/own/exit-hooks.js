// expect: leak
// holder: the 'exit' listeners of process
// items: closure discardDraftOnExit
// url: /upload?name=file{seq}
//
// Exit hooks registered per request. Each upload gets a draft record and a
// `process.on('exit')` hook that discards the draft if the process stops
// before the upload is committed. Commit never removes the hook, and
// `process.setMaxListeners(0)` was added to silence the
// MaxListenersExceededWarning, so the process's 'exit' listener array keeps
// one closure (and the UploadDraft it closes over) per request.
'use strict';
const http = require('node:http');

process.setMaxListeners(0);

class UploadDraft {
  constructor(no, name) {
    this.no = no;
    this.name = name;
    this.chunks = [`chunk-${no}-a`, `chunk-${no}-b`];
    this.committed = false;
  }
}

let uploads = 0;

function beginUpload(name) {
  const draft = new UploadDraft(++uploads, name);
  process.on('exit', function discardDraftOnExit() {
    if (!draft.committed) draft.chunks.length = 0;
  });
  return draft;
}

const server = http.createServer((req, res) => {
  const name = new URL(req.url, 'http://localhost').searchParams.get('name') || 'unnamed';
  const draft = beginUpload(name);
  draft.committed = true;
  res.end(`stored ${draft.name} as upload ${draft.no}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
