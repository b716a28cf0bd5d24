#!/usr/bin/env node
'use strict';
// `npx leakscope …`: runs this platform's native binary with the same
// arguments and stdio, passes signals on (Ctrl-C reaches it once from the
// terminal and once from here; it handles both as one) and exits as it
// did: 0 no leak, 1 leak, 2 bad input, 128+N for a signal (Ctrl-C: 130).

const { spawn } = require('node:child_process');
const os = require('node:os');
const { binaryPath } = require('../lib/platform.js');

let binary;
try {
  binary = binaryPath();
} catch (error) {
  process.stderr.write(`leakscope: ${error.message}\n`);
  process.exit(2);
}

const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('error', (error) => {
  process.stderr.write(`leakscope: cannot run ${binary}: ${error.message}\n`);
  process.exit(2);
});
child.on('exit', (code, signal) => {
  if (signal) process.exit(128 + (os.constants.signals[signal] || 0));
  process.exit(code === null ? 2 : code);
});
