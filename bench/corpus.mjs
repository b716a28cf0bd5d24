// The leak corpus's scoreboard: runs `leakscope hunt` on every app of
// corpus/own and corpus/npm (or those whose path contains one of the
// arguments) and checks each verdict against the app's header (see
// corpus/README.md). Prints a Markdown table and the score; exit status 1
// when an app is judged wrongly. Run through bench/corpus.sh.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const leakscope = process.env.LEAKSCOPE ?? join(root, 'target/release/leakscope');
const modules = join(root, 'target/corpus/node_modules');
const results = join(root, 'target/corpus-results');
mkdirSync(results, { recursive: true });

/** `// key: value` lines at the top of an app. */
function header(file) {
  const fields = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\/\/ ([a-z-]+): (.*)$/.exec(line);
    if (m) fields[m[1]] = m[2].trim();
    else if (!line.startsWith('//')) break;
  }
  return fields;
}

const filters = process.argv.slice(2);
const apps = ['own', 'npm']
  .flatMap((dir) =>
    readdirSync(join(root, 'corpus', dir))
      .filter((f) => /\.m?js$/.test(f))
      .map((f) => join(root, 'corpus', dir, f)),
  )
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));

const rows = [];
for (const app of apps) {
  const want = header(app);
  const args = ['hunt', '--json'];
  if (want.url) args.push('--url', want.url);
  if (want['request-file']) args.push('--request-file', join(dirname(app), want['request-file']));
  args.push('--', 'node', app);
  const started = Date.now();
  const run = spawnSync(leakscope, args, {
    encoding: 'utf8',
    env: { ...process.env, CI: '1', NODE_PATH: modules },
    maxBuffer: 64 << 20,
  });
  const seconds = (Date.now() - started) / 1000;
  const name = `${basename(dirname(app))}/${basename(app)}`;
  let hunt = null;
  try {
    hunt = JSON.parse(run.stdout);
  } catch {
    hunt = null;
  }
  writeFileSync(join(results, name.replace('/', '__') + '.json'), run.stdout || run.stderr);
  const findings = hunt?.findings ?? [];
  const named = findings.find((f) => f.holder.includes(want.holder ?? '\u0000'));
  let ok;
  let why = '';
  if (want.expect === 'clean') {
    ok = run.status === 0 && findings.length === 0;
    if (!ok) why = findings.length ? `flagged ${findings[0].holder}` : `exit ${run.status}: ${run.stderr.trim().split('\n').pop()}`;
  } else {
    ok = run.status === 1 && named !== undefined;
    if (ok && want.package && named.package !== want.package) {
      ok = false;
      why = `package ${named.package ?? 'not named'}`;
    }
    if (!ok && !why) {
      why = run.status === 0
        ? 'missed'
        : findings.length
          ? `named ${findings[0].holder}`
          : `exit ${run.status}: ${run.stderr.trim().split('\n').pop()}`;
    }
  }
  if (seconds > 90) {
    ok = false;
    why = (why ? why + '; ' : '') + 'over 90 s';
  }
  const top = named ?? findings[0];
  rows.push({
    name,
    expect: want.expect === 'clean' ? 'clean' : `${want.holder}${want.package ? ` (${want.package})` : ''}`,
    verdict: hunt ? (findings.length ? 'leak' : 'clean') : 'error',
    holder: top ? top.holder : '–',
    perRequest: top ? `${Math.round(top.bytes_per_request)} B` : '–',
    confidence: top ? top.confidence : hunt?.confidence ?? '–',
    seconds: seconds.toFixed(1),
    ok,
    why,
  });
  process.stderr.write(`${ok ? 'ok  ' : 'FAIL'} ${name} ${seconds.toFixed(1)} s ${why}\n`);
}

const cell = (s) => String(s).replaceAll('|', '\\|');
console.log('| app | expected | verdict | named holder | bytes/request | confidence | seconds | |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${[r.name, r.expect, r.verdict, r.holder, r.perRequest, r.confidence, r.seconds, r.ok ? 'ok' : `**wrong**: ${r.why}`]
      .map(cell)
      .join(' | ')} |`,
  );
}
const passed = rows.filter((r) => r.ok).length;
const leaks = rows.filter((r) => r.expect !== 'clean');
console.log(
  `\n${passed}/${rows.length} judged right (${leaks.filter((r) => r.ok).length}/${leaks.length} leaks named, ` +
    `${rows.length - leaks.length - rows.filter((r) => r.expect === 'clean' && !r.ok).length}/${rows.length - leaks.length} clean apps clean); ` +
    `longest hunt ${Math.max(...rows.map((r) => Number(r.seconds)))} s`,
);
process.exitCode = passed === rows.length ? 0 : 1;
