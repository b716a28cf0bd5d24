// expect: leak
// holder: Array `children`
// items: Module
// url: /greet?name=n{seq}
//
// Compiling code into a fresh module on every request. The app turns its
// greeting template into JavaScript and loads it with the familiar
// "require from string" helper (`new Module(filename, parent)` plus
// `_compile`), assuming the throw-away module is garbage once the function
// has run. But the Module constructor registers the new module in its
// parent's `children` array, so this module's `module.children` keeps every
// compiled Module, its exports and its source, one per request.
'use strict';
const http = require('node:http');
const Module = require('node:module');
const path = require('node:path');

const TEMPLATE = 'Hello, {{name}}! You are visitor {{count}}.';

function requireFromString(code, filename) {
  const m = new Module(filename, module);
  m.filename = filename;
  m.paths = Module._nodeModulePaths(path.dirname(filename));
  m._compile(code, filename);
  return m.exports;
}

function compile(template, n) {
  const body = template.replace(/\{\{(\w+)\}\}/g, (_, key) => '${data.' + key + '}');
  const code = `module.exports = function greeting(data) { return \`${body}\`; };`;
  return requireFromString(code, path.join(__dirname, `.templates/greeting-${n}.js`));
}

let count = 0;
const server = http.createServer((req, res) => {
  count++;
  const name = new URL(req.url, 'http://localhost').searchParams.get('name') || 'stranger';
  const greeting = compile(TEMPLATE, count);
  res.end(greeting({ name, count }) + '\n');
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
