'use strict';
// The JavaScript API, run with node:test in a project where the packed
// tarballs were installed (crates/cli/tests/npm.rs sets that up).

const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expectNoLeak, findLeaks, summary, hunt, LeakError, LeakscopeError } = require('leakscope');

const retained = [];
const cache = new Map();

test('expectNoLeak names the array a leaky function fills, per call', async () => {
  await assert.rejects(
    expectNoLeak(() => { retained.push({ at: Date.now(), payload: 'p'.repeat(40) }); }, { iterations: 300 }),
    (error) => {
      assert.ok(error instanceof LeakError, error.stack);
      assert.match(error.message, /^Array `retained` \(module scope of api\.test\.js\) grows by \d+ B per call/);
      const perCall = error.report.findings[0].bytes_per_request;
      assert.ok(perCall > 40 && perCall < 1000, `${perCall} B per call`);
      return true;
    },
  );
});

test('expectNoLeak names a Map an async function fills', async () => {
  let n = 0;
  await assert.rejects(
    expectNoLeak(async () => { await null; cache.set(n++, { body: 'b'.repeat(64) }); }, { iterations: 300 }),
    (error) => error instanceof LeakError && /^Map `cache` \(module scope of api\.test\.js\) grows by \d+ B per call/.test(error.message),
  );
});

test('a leak in a module whose name mentions a test runner is still a leak', async () => {
  // Runner bookkeeping is told by the code that owns it, not by words in
  // the holder's name.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakscope-api-'));
  fs.writeFileSync(path.join(dir, 'mocha-store.js'), 'const kept = []; module.exports = (x) => kept.push(x);');
  const store = require(path.join(dir, 'mocha-store.js'));
  await assert.rejects(
    expectNoLeak(() => store({ body: 'b'.repeat(64) }), { iterations: 300 }),
    (error) => error instanceof LeakError && error.message.startsWith('Array `kept` (module scope of mocha-store.js) grows by '),
  );
});

test('expectNoLeak resolves for a function that keeps nothing', async () => {
  const report = await expectNoLeak(() => {
    const scratch = [];
    for (let i = 0; i < 20; i++) scratch.push({ i, text: `item ${i}` });
    return scratch.length;
  }, { iterations: 300 });
  assert.deepStrictEqual(report.findings.filter((f) => !f.holder.includes('node:internal')), []);
});

// Three snapshots of a child process that keeps what it makes.
function leakySnapshots() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakscope-api-'));
  const script = path.join(dir, 'keeper.js');
  fs.writeFileSync(script, `
    const v8 = require('v8');
    class Entry { constructor(i) { this.i = i; this.text = 'entry ' + i; } }
    const kept = [];
    function keep(i) { kept.push(new Entry(i)); }
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1000; i++) keep(round * 1000 + i);
      v8.writeHeapSnapshot(require('path').join(__dirname, 'snap-' + round + '.heapsnapshot'));
    }`);
  execFileSync(process.execPath, [script]);
  return [0, 1, 2].map((r) => path.join(dir, `snap-${r}.heapsnapshot`));
}

test('findLeaks and summary read snapshots a process wrote', async () => {
  const files = leakySnapshots();
  const report = await findLeaks(files, { calls: 1000 });
  assert.strictEqual(report.findings.length, 1, JSON.stringify(report.findings.map((f) => f.holder)));
  assert.strictEqual(report.findings[0].holder, 'Array `kept` (module scope of keeper.js)');
  assert.strictEqual(report.findings[0].leaked_items.name, 'Entry');
  const view = await summary(files[2], { top: 0 });
  const entry = view.classes.find((c) => c.name === 'Entry');
  assert.strictEqual(entry.count, 3000);
  await assert.rejects(findLeaks(files.slice(0, 2)), (e) => e instanceof LeakscopeError && /at least three snapshots/.test(e.message));
});

test('hunt launches a server, drives it and names its leak', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakscope-api-'));
  const server = path.join(dir, 'server.js');
  fs.writeFileSync(server, `
    const http = require('http');
    const sessions = [];
    http.createServer((req, res) => { sessions.push({ url: req.url, at: Date.now(), blob: 'x'.repeat(200) }); res.end('ok'); })
      .listen(0, '127.0.0.1');`);
  const report = await hunt({ command: [process.execPath, server], rounds: 3, requests: 400, warmup: 200, budget: 60 });
  assert.ok(report.findings.length >= 1, report.verdict);
  assert.strictEqual(report.findings[0].holder, 'Array `sessions` (module scope of server.js)');
  assert.ok(report.findings[0].bytes_per_request > 200, String(report.findings[0].bytes_per_request));
});

test('bad options and a missing binary are errors, not hangs', async () => {
  assert.throws(() => hunt({ bogus: 1 }), /unknown option bogus/);
  await assert.rejects(
    summary('x.heapsnapshot', { env: { ...process.env, LEAKSCOPE_BINARY: '/nonexistent/leakscope' } }),
    (e) => e instanceof LeakscopeError && e.message === 'LEAKSCOPE_BINARY is /nonexistent/leakscope, which does not exist',
  );
});
