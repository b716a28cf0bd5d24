#!/usr/bin/env bash
# npm/pack.sh DIR — the npm tarballs for this machine, written into DIR:
# `leakscope` (launcher and JavaScript API, no install script) and
# `@leakscope/<platform>` (this platform's binary, with its os/cpu/libc),
# both at the workspace's version. LEAKSCOPE_BINARY=PATH packs that binary
# instead of building one. Other platforms: see "npm packages" in README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: npm/pack.sh DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)
binary=${LEAKSCOPE_BINARY:-}
if [ -z "$binary" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p leakscope
  binary=$root/target/release/leakscope
fi
key=$(node -p "require('$root/npm/leakscope/lib/platform.js').platformKey()")
stage=$root/target/npm-stage
rm -rf "$stage"
mkdir -p "$stage/main" "$stage/platform/bin"
cp -R "$root/npm/leakscope/." "$stage/main/"
cp "$root/README.md" "$stage/main/README.md"
cp "$binary" "$stage/platform/bin/leakscope"
chmod 755 "$stage/platform/bin/leakscope"
node - "$stage" "$version" "$key" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const [stage, version, key] = process.argv.slice(2);
const { PLATFORMS } = require(path.join(stage, 'main/lib/platform.js'));
const target = PLATFORMS[key];
if (!target) {
  console.error(`leakscope: no npm package is defined for ${key} (known: ${Object.keys(PLATFORMS).join(', ')})`);
  process.exit(2);
}
const main = JSON.parse(fs.readFileSync(path.join(stage, 'main/package.json'), 'utf8'));
main.version = version;
main.optionalDependencies = Object.fromEntries(Object.keys(PLATFORMS).map((k) => [`@leakscope/${k}`, version]));
fs.writeFileSync(path.join(stage, 'main/package.json'), `${JSON.stringify(main, null, 2)}\n`);
const platform = {
  name: `@leakscope/${key}`,
  version,
  description: `The leakscope binary for ${key}`,
  license: main.license,
  repository: main.repository,
  os: [target.os],
  cpu: [target.cpu],
  ...(target.libc ? { libc: [target.libc] } : {}),
  files: ['bin'],
  preferUnplugged: true,
};
fs.writeFileSync(path.join(stage, 'platform/package.json'), `${JSON.stringify(platform, null, 2)}\n`);
JS
(cd "$stage/main" && npm pack --silent --pack-destination "$out" >/dev/null)
(cd "$stage/platform" && npm pack --silent --pack-destination "$out" >/dev/null)
echo "$out/leakscope-$version.tgz"
echo "$out/leakscope-$key-$version.tgz"
