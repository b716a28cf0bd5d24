// bench/mcp-bench.mjs — ask one MCP server (leakscope's or memlab's) the same
// eight questions about one triplet of heap snapshots, time each answer and
// measure the server's peak memory. bench/mcp.sh runs it; by hand:
//
//   node bench/mcp-bench.mjs --server leakscope|memlab|memlab-long --dir DIR --out FILE.json
//   node bench/mcp-bench.mjs --table FILE.json…     # the Markdown tables of runs
//
// (memlab-long: memlab with its own per-call analysis budget raised from 90 s
// to the call timeout.)
// DIR holds s1/s2/s3.heapsnapshot (oldest first). The server is started fresh
// over stdio with the official MCP SDK's client, the questions are asked in
// order, and FILE.json gets, per question: the tool calls it took, wall ms,
// the answer's size in characters (text content + JSON of structured content),
// whether it names `AuditEntry` / `auditTrail`, and the server's VmHWM (peak
// RSS, summed over the server process and its children) after it. A call
// that fails records the error; if the server dies or a call times out, the
// rest of the questions are recorded as not asked.
//
// Environment: MCP_SDK_DIR (a directory whose node_modules holds
// @modelcontextprotocol/sdk; default /work/main/target/mcp-client),
// LEAKSCOPE_BIN, MEMLAB_MCP (memlab's bin/memlab-mcp.js), MEMLAB_HEAP_MB
// (default 16000, passed as NODE_OPTIONS=--max-old-space-size), CALL_TIMEOUT_S
// (default 1800, for every call, progress notifications do not extend it).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const sdkDir = process.env.MCP_SDK_DIR || path.join(root, 'target/mcp-client');
const sdk = createRequire(path.join(sdkDir, 'package.json'));
const { Client } = sdk('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = sdk('@modelcontextprotocol/sdk/client/stdio.js');

const argv = process.argv.slice(2);

// ---- `--table FILE.json…`: the Markdown tables of finished runs ------------
if (argv[0] === '--table') {
  const runs = argv.slice(1).map((f) => ({ label: path.basename(path.dirname(f)), ...JSON.parse(fs.readFileSync(f, 'utf8')) }));
  const cell = (t) => String(t).replace(/\|/g, '\\|').replace(/\s+/g, ' ');
  const secs = (ms) => (ms / 1000).toFixed(ms < 1000 ? 3 : ms < 100000 ? 2 : 1);
  const names = (q) => {
    if (!('namesAuditEntry' in q)) return '—';
    if (q.outcome !== 'ok') return '—';
    const named = [q.namesAuditEntry && 'AuditEntry', q.namesAuditTrail && 'auditTrail'].filter(Boolean);
    // Q3 asks about AuditEntry: the answer names the leak if its path goes through auditTrail
    const yes = q.id === 'Q3' ? q.namesAuditTrail : named.length > 0;
    return `${yes ? 'yes' : 'no'}${named.length ? ` (${named.join(', ')})` : ''}`;
  };
  const label = (r) => (r.server === 'memlab-long' ? `memlab (budget ${r.timeoutS} s)` : r.server);
  const lines = [
    '| heap (MB) | server | question | tool call(s) | outcome | wall (s) | answer (chars) | names the leak | peak RSS so far (MB) |',
    '|---|---|---|---|---|---:|---:|---|---:|',
  ];
  for (const r of runs) {
    for (const q of r.questions) {
      const asked = !q.outcome.startsWith('not asked');
      lines.push(`| ${r.label} | ${label(r)} | ${q.id} ${cell(q.what)} | ${q.calls.map((c) => c.name).join(' + ') || '—'} | ${cell(q.outcome.slice(0, 140))} | ${asked ? secs(q.ms) : '—'} | ${asked && q.chars ? q.chars : '—'} | ${names(q)} | ${asked ? q.hwmMB : '—'} |`);
    }
  }
  lines.push('', '| heap (MB) | server | peak RSS (MB) | questions answered | wall, all questions (s) | server ended |', '|---|---|---:|---:|---:|---|');
  for (const r of runs) {
    const ok = r.questions.filter((q) => q.outcome === 'ok').length;
    const ms = r.questions.reduce((a, q) => a + (q.ms || 0), 0);
    const ended = r.exited && r.stopped ? `died: ${r.exited.signal ? `signal ${r.exited.signal}` : `exit ${r.exited.code}`}` : r.stopped || 'normally';
    lines.push(`| ${r.label} | ${label(r)} ${r.serverInfo ? r.serverInfo.version : ''} | ${r.peakRssMB} | ${ok} of ${r.questions.length} | ${secs(ms)} | ${cell(ended)} |`);
  }
  console.log(lines.join('\n'));
  process.exit(0);
}

const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const serverName = opt('server');
const dir = path.resolve(opt('dir', '.'));
const outFile = opt('out');
const only = opt('only', '').split(',').filter(Boolean);
if (!['leakscope', 'memlab', 'memlab-long'].includes(serverName) || !outFile) {
  console.error('usage: node mcp-bench.mjs --server leakscope|memlab|memlab-long --dir DIR --out FILE.json [--only Q1,Q3]');
  process.exit(2);
}
const timeoutMs = Number(process.env.CALL_TIMEOUT_S || 1800) * 1000;
const s1 = path.join(dir, 's1.heapsnapshot');
const s2 = path.join(dir, 's2.heapsnapshot');
const s3 = path.join(dir, 's3.heapsnapshot');

// ---- the servers -----------------------------------------------------------
const servers = {
  leakscope: {
    command: process.env.LEAKSCOPE_BIN || path.join(root, 'target/release/leakscope'),
    args: ['mcp', '--no-cache'],
    env: {},
  },
  memlab: {
    command: process.execPath,
    args: [process.env.MEMLAB_MCP || path.join(root, 'target/bench/peers/memlab-mcp/src/packages/mcp-server/bin/memlab-mcp.js')],
    env: { NODE_OPTIONS: `--max-old-space-size=${process.env.MEMLAB_HEAP_MB || 16000}` },
  },
};
// memlab stops any tool call's heap scans after its own analysis budget
// (MEMLAB_ANALYSIS_TIMEOUT_MS, default 90 s, counted from the call's start, so
// a call that loads a file spends it on the load too); memlab-long raises it
// to the call timeout.
servers['memlab-long'] = {
  ...servers.memlab,
  env: { ...servers.memlab.env, MEMLAB_ANALYSIS_TIMEOUT_MS: String(timeoutMs) },
};
const kind = serverName.startsWith('memlab') ? 'memlab' : serverName;

// ---- the questions ---------------------------------------------------------
// Each question is a list of steps per server; a step is a tool call, and
// may derive its arguments from the previous step's answer (prev = its text).
const firstNodeId = (prev) => {
  const m = /\|\s*@(\d+)\s*\|/.exec(prev);
  if (!m) throw new Error('no node id in the previous answer');
  return Number(m[1]);
};
const questions = [
  {
    id: 'Q1', what: 'load + summary: top 20 classes by retained size (s3)',
    leakscope: [{ name: 'summary', arguments: { path: s3, top: 20 } }],
    memlab: [
      { name: 'memlab_load_snapshot', arguments: { file_path: s3 } },
      { name: 'memlab_class_histogram', arguments: { limit: 20, include_retained_size: true } },
    ],
  },
  {
    id: 'Q2', what: 'the same summary again (loaded)',
    leakscope: [{ name: 'summary', arguments: { path: s3, top: 20 } }],
    memlab: [{ name: 'memlab_class_histogram', arguments: { limit: 20, include_retained_size: true } }],
  },
  {
    id: 'Q3', what: 'who retains the largest AuditEntry (s3)', leak: 'path',
    leakscope: [{ name: 'retainers', arguments: { path: s3, class: 'AuditEntry' } }],
    memlab: [
      { name: 'memlab_find_nodes_by_class', arguments: { class_name: 'AuditEntry', node_type: 'object', limit: 1 } },
      { name: 'memlab_retainer_trace', arguments: (prev) => ({ node_id: firstNodeId(prev) }) },
    ],
  },
  {
    id: 'Q4', what: 'biggest retainers: dominators of the root, top 10 (s3)',
    leakscope: [{ name: 'dominators', arguments: { path: s3, top: 10 } }],
    // id 1 is V8's synthetic root (memlab_largest_objects, the other candidate,
    // lists the biggest objects anywhere in the tree, not the root's children)
    memlab: [{ name: 'memlab_dominator_subtree', arguments: { node_id: 1, limit: 10 } }],
  },
  {
    id: 'Q5', what: 'statistics (s3)',
    leakscope: [{ name: 'statistics', arguments: { path: s3 } }],
    memlab: [{ name: 'memlab_snapshot_summary', arguments: {} }],
  },
  {
    id: 'Q6', what: 'duplicated strings, top 10 (s3)',
    leakscope: [{ name: 'duplicated_strings', arguments: { path: s3, top: 10 } }],
    memlab: [{ name: 'memlab_duplicated_strings', arguments: { limit: 10 } }],
  },
  {
    id: 'Q7', what: 'compare s1 and s3 (what grew)', leak: 'any',
    leakscope: [{ name: 'compare', arguments: { base: s1, current: s3 } }],
    memlab: [{ name: 'memlab_diff_snapshots', arguments: { before_path: s1, after_path: s3 } }],
  },
  {
    id: 'Q8', what: 'find the leak across s1, s2, s3', leak: 'any',
    leakscope: [{ name: 'find_leaks', arguments: { paths: [s1, s2, s3] } }],
    memlab: [{ name: 'memlab_leak_report', arguments: { paths: [s1, s2, s3] } }],
  },
];

// ---- memory of the server's process tree -----------------------------------
const status = (pid) => {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) || [])[1] || 0);
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return null;
  }
};
const descendants = (pid) => {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks = [];
    try { tasks = fs.readdirSync(`/proc/${out[i]}/task`); } catch { continue; }
    for (const t of tasks) {
      try {
        for (const c of fs.readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean)) out.push(Number(c));
      } catch { /* gone */ }
    }
  }
  return out;
};
const hwmByPid = new Map(); // last VmHWM seen per pid of the tree (kB)
let peakTreeRss = 0; // largest summed VmRSS seen (kB)
const sample = (pid) => {
  let rss = 0;
  for (const p of descendants(pid)) {
    const st = status(p);
    if (!st) continue;
    hwmByPid.set(p, Math.max(hwmByPid.get(p) || 0, st.hwm));
    rss += st.rss;
  }
  peakTreeRss = Math.max(peakTreeRss, rss);
};
const hwmMB = () => Math.round([...hwmByPid.values()].reduce((a, b) => a + b, 0) / 1024);

// ---- run -------------------------------------------------------------------
const spec = servers[serverName];
const stderrFile = outFile.replace(/\.json$/, '') + '.stderr.txt';
const stderrOut = fs.createWriteStream(stderrFile);
let stderrTail = '';
const transport = new StdioClientTransport({
  command: spec.command,
  args: spec.args,
  env: { ...process.env, ...spec.env },
  stderr: 'pipe',
});
transport.stderr.on('data', (d) => {
  stderrOut.write(d);
  stderrTail = (stderrTail + d.toString()).slice(-4000);
});
let exited = null; // { code, signal } once the server is gone
const client = new Client({ name: 'leakscope-mcp-bench', version: '1.0.0' });
const started = performance.now();
await client.connect(transport);
const pid = transport.pid;
transport._process?.on('exit', (code, signal) => { exited = { code, signal }; sample(pid); });
const sampler = setInterval(() => sample(pid), 250);
sample(pid);

const result = {
  server: serverName,
  serverInfo: client.getServerVersion(),
  command: [spec.command, ...spec.args].join(' '),
  env: spec.env,
  dir,
  pid,
  timeoutS: timeoutMs / 1000,
  questions: [],
};

const textOf = (r) => (r.content || []).map((c) => (c.type === 'text' ? c.text : JSON.stringify(c))).join('\n');
const sizeOf = (r) => textOf(r).length + (r.structuredContent ? JSON.stringify(r.structuredContent).length : 0);

let stopped = null; // why the remaining questions are not asked
for (const q of questions) {
  if (only.length && !only.includes(q.id)) continue;
  const rec = { id: q.id, what: q.what, calls: [], ms: 0, chars: 0, outcome: 'ok' };
  result.questions.push(rec);
  if (stopped) { rec.outcome = `not asked: ${stopped}`; continue; }
  let prev = '';
  let all = '';
  for (const step of q[kind]) {
    const call = { name: step.name };
    rec.calls.push(call);
    let args;
    try {
      args = typeof step.arguments === 'function' ? step.arguments(prev) : step.arguments;
    } catch (e) {
      call.error = String(e.message);
      rec.outcome = `error: ${call.error}`;
      break;
    }
    call.arguments = args;
    console.error(`${serverName} ${path.basename(dir)} ${q.id}: ${step.name} ${JSON.stringify(args)}`);
    const t0 = performance.now();
    try {
      const r = await client.callTool({ name: step.name, arguments: args }, undefined, {
        timeout: timeoutMs,
        maxTotalTimeout: timeoutMs,
        resetTimeoutOnProgress: true,
        onprogress: () => {},
      });
      call.ms = performance.now() - t0;
      call.text = textOf(r);
      if (r.structuredContent) call.structuredContent = r.structuredContent;
      call.chars = sizeOf(r);
      call.isError = !!r.isError;
      prev = call.text;
      all += `${call.text}\n${r.structuredContent ? JSON.stringify(r.structuredContent) : ''}\n`;
      const halted = /Analysis stopped: .* exceeded the (\d+)s guardrail/.exec(call.text);
      if (r.isError) {
        rec.outcome = `tool error: ${call.text.replace(/\s+/g, ' ').slice(0, 200)}`;
      } else if (halted) {
        // memlab's guardrail answers (not as an error) that it gave up
        rec.outcome = `no result: stopped by memlab's ${halted[1]} s analysis budget`;
      }
    } catch (e) {
      call.ms = performance.now() - t0;
      call.error = String(e && e.message);
      await new Promise((res) => setTimeout(res, 1000)); // let an exit be noticed
      if (exited || !status(pid)) {
        const oom = /heap out of memory|Allocation failed|out of memory/i.test(stderrTail);
        const how = exited ? (exited.signal ? `signal ${exited.signal}` : `exit ${exited.code}`) : 'gone';
        rec.outcome = `server died (${how}${oom ? ', out of memory' : ''})`;
        stopped = `server died on ${q.id}`;
      } else if (/timed out|timeout/i.test(call.error)) {
        rec.outcome = `timeout (${timeoutMs / 1000} s)`;
        stopped = `timeout on ${q.id}`;
      } else {
        rec.outcome = `protocol error: ${call.error.slice(0, 200)}`;
      }
    }
    rec.ms += call.ms;
    rec.chars += call.chars || 0;
    if (rec.outcome !== 'ok') break;
  }
  sample(pid);
  rec.hwmMB = hwmMB();
  if (q.leak) {
    rec.namesAuditEntry = /AuditEntry/.test(all);
    rec.namesAuditTrail = /auditTrail/.test(all);
  }
  console.error(`  -> ${rec.outcome}, ${Math.round(rec.ms)} ms, ${rec.chars} chars, peak RSS ${rec.hwmMB} MB`);
}

sample(pid);
clearInterval(sampler);
result.peakRssMB = hwmMB();
result.peakTreeRssSampledMB = Math.round(peakTreeRss / 1024);
result.exited = exited;
result.stopped = stopped;
result.totalMs = performance.now() - started;
result.stderrTail = stderrTail.slice(-1500);
if (stopped && stopped.startsWith('timeout') && !exited) {
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}
try { await client.close(); } catch { /* already closed */ }
stderrOut.end();
fs.writeFileSync(outFile, `${JSON.stringify(result, null, 1)}\n`);
process.exit(0);
