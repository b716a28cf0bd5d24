'use strict';
// Which native package serves this machine, and where its binary is. The
// way esbuild and Biome ship: the main package has no install script; npm
// installs the one optional dependency whose `os`, `cpu` and `libc` match.

const fs = require('node:fs');
const path = require('node:path');

/** The platform packages published, by key. */
const PLATFORMS = {
  'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'linux-x64-musl': { os: 'linux', cpu: 'x64', libc: 'musl' },
  'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'win32-x64': { os: 'win32', cpu: 'x64' },
};

function isMusl() {
  // glibc reports its version in Node's diagnostic report; musl does not.
  try {
    const report = process.report && process.report.getReport();
    const header = report && (typeof report === 'string' ? JSON.parse(report) : report).header;
    return !(header && header.glibcVersionRuntime);
  } catch {
    return false;
  }
}

/** This machine's key (`linux-x64-gnu`, `darwin-arm64`…). */
function platformKey(platform = process.platform, arch = process.arch, musl = isMusl) {
  if (platform === 'linux') return `linux-${arch}-${musl() ? 'musl' : 'gnu'}`;
  return `${platform}-${arch}`;
}

function version() {
  return require('../package.json').version;
}

/**
 * The leakscope binary to run: `$LEAKSCOPE_BINARY` when set, else the one
 * in this platform's package. Throws an Error whose message is one line
 * saying what to install.
 */
function binaryPath(env = process.env) {
  const override = env.LEAKSCOPE_BINARY;
  if (override) {
    if (!fs.existsSync(override)) throw new Error(`LEAKSCOPE_BINARY is ${override}, which does not exist`);
    return override;
  }
  const key = platformKey();
  if (!PLATFORMS[key]) {
    throw new Error(`no leakscope binary is published for ${key} (there are: ${Object.keys(PLATFORMS).join(', ')}); build one with \`cargo install --git https://github.com/leakscope/leakscope leakscope\` and set LEAKSCOPE_BINARY to it`);
  }
  const pkg = `@leakscope/${key}`;
  let dir;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`the package ${pkg} is not installed: run \`npm install ${pkg}@${version()}\` (npm skips it with --omit=optional), or set LEAKSCOPE_BINARY`);
  }
  const binary = path.join(dir, 'bin', key.startsWith('win32') ? 'leakscope.exe' : 'leakscope');
  if (!fs.existsSync(binary)) throw new Error(`${pkg} has no binary at ${binary}: reinstall it`);
  return binary;
}

module.exports = { PLATFORMS, platformKey, binaryPath, version };
