'use strict';
// leakscope from JavaScript: the CLI's hunts and verdicts as Promises of
// its `--json` reports, and `expectNoLeak` for unit tests. Every call runs
// the native binary (see platform.js); nothing is reimplemented here.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const { binaryPath } = require('./platform.js');

/** A leak that `expectNoLeak` found: its message names the holder. */
class LeakError extends Error {
  constructor(message, report) {
    super(message);
    this.name = 'LeakError';
    /** The `find-leaks --json` report. */
    this.report = report;
  }
}

/** leakscope could not run (bad input, no target…): exit status 2. */
class LeakscopeError extends Error {
  constructor(message, { code, stderr } = {}) {
    super(message);
    this.name = 'LeakscopeError';
    this.code = code;
    this.stderr = stderr;
  }
}

// The flags each command takes, by option name (camelCase of the flag).
const HUNT_OPTIONS = ['pid', 'port', 'inspectorUrl', 'allowRemote', 'url', 'requestFile', 'concurrency',
  'noLoad', 'loadCmd', 'noWorkers', 'forceSnapshot', 'noSourceMaps', 'generatedPositions', 'noSnapshot',
  'oneSnapshot', 'rounds', 'requests', 'roundTime', 'budget', 'warmup', 'out', 'keep', 'report', 'tracking',
  'traceGc', 'jit', 'junit', 'markdown', 'allow', 'baseline'];
const FIND_LEAKS_OPTIONS = ['report', 'noCache', 'noSourceMaps', 'generatedPositions', 'calls', 'junit',
  'markdown', 'allow', 'baseline'];
const SUMMARY_OPTIONS = ['top', 'noCache'];
// Durations the CLI reads as `10s`, `5m`: a number here means seconds.
const DURATIONS = new Set(['roundTime', 'budget']);

const kebab = (name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function flags(options, allowed, command) {
  const args = [];
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || value === null || value === false) continue;
    if (!allowed.includes(name)) {
      throw new TypeError(`leakscope ${command}: unknown option ${name} (known: ${allowed.join(', ')})`);
    }
    const flag = `--${kebab(name)}`;
    if (value === true) args.push(flag);
    else if (value instanceof RegExp) args.push(flag, value.source);
    else if (DURATIONS.has(name) && typeof value === 'number') args.push(flag, `${value}s`);
    else args.push(flag, String(value));
  }
  return args;
}

/** Runs the binary; resolves `{ code, stdout, stderr }` whatever its exit. */
function run(args, { cwd, env, signal } = {}) {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(binaryPath(env || process.env), args, {
        cwd, env: env || process.env, signal, stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      reject(new LeakscopeError(error.message, { code: 2 }));
      return;
    }
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (error) => reject(new LeakscopeError(`cannot run leakscope: ${error.message}`, { code: 2 })));
    child.on('close', (code, killed) => resolve({
      code: code === null ? 128 + (os.constants.signals[killed] || 0) : code,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    }));
  });
}

// A `--json` report: exit 0 (no leak) and 1 (leak) both carry one; 2 is
// an error, whose last line on stderr says what.
async function report(args, options) {
  const { code, stdout, stderr } = await run(args, options);
  if (code === 0 || code === 1) {
    try {
      return JSON.parse(stdout);
    } catch {
      // Fall through: not a report.
    }
  }
  const said = stderr.trim().split('\n').filter(Boolean).pop() || `leakscope exited with status ${code}`;
  throw new LeakscopeError(said.replace(/^leakscope: /, ''), { code, stderr });
}

/**
 * `leakscope hunt --json`: launch (`command: ['node', 'app.js']`) or
 * attach (`pid`, `port`, `inspectorUrl`), drive load, and resolve the
 * report (its `findings` empty when clean).
 */
function hunt(options = {}) {
  const { command, cwd, env, signal, ...rest } = options;
  const args = ['hunt', '--json', ...flags(rest, HUNT_OPTIONS, 'hunt')];
  if (command !== undefined) {
    const argv = Array.isArray(command) ? command : String(command).trim().split(/\s+/);
    args.push('--', ...argv.map(String));
  }
  return report(args, { cwd, env, signal });
}

/** `leakscope find-leaks --json` on snapshots of one process, oldest first. */
function findLeaks(paths, options = {}) {
  const { cwd, env, signal, ...rest } = options;
  if (!Array.isArray(paths)) throw new TypeError('findLeaks: give an array of snapshot paths, oldest first');
  return report(['find-leaks', '--json', ...flags(rest, FIND_LEAKS_OPTIONS, 'find-leaks'), '--', ...paths.map(String)],
    { cwd, env, signal });
}

/** `leakscope summary --json`: DevTools' Summary view of one snapshot. */
function summary(file, options = {}) {
  const { cwd, env, signal, ...rest } = options;
  return report(['summary', '--json', ...flags(rest, SUMMARY_OPTIONS, 'summary'), '--', String(file)], { cwd, env, signal });
}

// A full GC from inside the process, with or without --expose-gc.
function collector() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  v8.setFlagsFromString('--expose-gc');
  return require('node:vm').runInNewContext('gc');
}

const bytes = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${Math.round(n)} B`);

// What a test runner itself keeps while a test runs (node:test's map of
// the async resources a test creates, jest's and vitest's bookkeeping):
// it grows with the calls and is freed when the test ends. Known by the
// code that owns it — Node's test runner, or a runner's npm package —
// never by words in the holder's name (a test file may be called
// mocha-store.test.js).
const RUNNER_PACKAGES = /^(jest-circus|jest-runner|jest-runtime|@jest\/.+|vitest|@vitest\/.+|tinypool|mocha)$/;
const ownedByRunner = (f) => /\(module scope of node:internal\/test_runner\//.test(f.holder)
  || (typeof f.package === 'string' && RUNNER_PACKAGES.test(f.package));

/**
 * Runs `fn` (sync or async) `iterations` times to warm up, then
 * `snapshots - 1` more times `iterations` calls, snapshotting this
 * process's heap after a full GC before each round and after the last;
 * leakscope judges the snapshots. Resolves with the report when nothing
 * grew per call; rejects with a LeakError naming the holder and the bytes
 * each call leaves behind.
 */
async function expectNoLeak(fn, options = {}) {
  const iterations = options.iterations ?? 200;
  const snapshots = options.snapshots ?? 4;
  if (typeof fn !== 'function') throw new TypeError('expectNoLeak: give the function to call');
  if (!Number.isInteger(iterations) || iterations < 1) throw new TypeError('expectNoLeak: iterations must be a positive integer');
  if (!Number.isInteger(snapshots) || snapshots < 3) throw new TypeError('expectNoLeak: snapshots must be an integer of 3 or more');
  const gc = collector();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakscope-'));
  // A synchronous fn is not awaited: an await per call would make the
  // runner track a promise per call.
  const calls = async () => {
    for (let i = 0; i < iterations; i++) {
      const result = fn(i);
      if (result && typeof result.then === 'function') await result;
    }
  };
  try {
    await calls(); // caches, pools and the JIT settle
    const files = [];
    for (let round = 0; round < snapshots; round++) {
      if (round > 0) await calls();
      gc();
      gc();
      files.push(v8.writeHeapSnapshot(path.join(dir, `round-${round}.heapsnapshot`)));
    }
    const judged = await findLeaks(files, { calls: iterations, noCache: true, env: options.env });
    const leaks = judged.findings.filter((f) => !ownedByRunner(f));
    if (leaks.length) {
      const f = leaks[0];
      const per = f.bytes_per_request === undefined ? '' : ` by ${bytes(f.bytes_per_request)} per call`;
      const more = leaks.length > 1 ? ` (and ${leaks.length - 1} more)` : '';
      throw new LeakError(`${f.holder} grows${per}: ${f.leaked_items.name} kept after every call${more}`, judged);
    }
    return judged;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { hunt, findLeaks, summary, expectNoLeak, LeakError, LeakscopeError, binaryPath };
