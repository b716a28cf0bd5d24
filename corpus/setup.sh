#!/usr/bin/env bash
# setup.sh DIR — install the npm packages of the leak corpus (corpus/npm) into
# DIR/node_modules (idempotent). Run the apps with NODE_PATH=DIR/node_modules.
set -euo pipefail
dir=${1:?usage: setup.sh DIR}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ "$dir" = "$src" ] || [ "$dir" = "$src/npm" ]; then
  echo "setup.sh: install outside the source tree (e.g. target/corpus)" >&2
  exit 2
fi
cp -p "$src/package.json" "$src/package-lock.json" "$dir/"
cd "$dir"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch node_modules
fi
echo "$dir/node_modules"
