// node client.mjs PLAN.json — starts an MCP server over stdio with the
// official SDK's client, lists its tools, makes the plan's calls in order
// and prints one JSON object: the tools, and per call its result, the
// progress notifications it got and how long it took.
//
// PLAN: { "command": "leakscope", "args": ["mcp"], "calls": [{ "name", "arguments" }] }
import fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const transport = new StdioClientTransport({
  command: plan.command,
  args: plan.args || [],
  env: { ...process.env, ...(plan.env || {}) },
  stderr: 'inherit',
});
const client = new Client({ name: 'leakscope-tests', version: '1.0.0' });
await client.connect(transport);
const out = { server: client.getServerVersion(), tools: (await client.listTools()).tools, calls: [] };
for (const call of plan.calls) {
  const progress = [];
  const started = performance.now();
  let result;
  try {
    result = await client.callTool({ name: call.name, arguments: call.arguments }, undefined, {
      onprogress: (p) => progress.push(p),
      timeout: 600_000,
      resetTimeoutOnProgress: true,
    });
  } catch (error) {
    result = { protocolError: String(error && error.message) };
  }
  out.calls.push({ name: call.name, ms: performance.now() - started, result, progress });
}
await client.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
