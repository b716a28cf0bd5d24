#!/usr/bin/env bash
# setup.sh DIR — install the MCP client (the official TypeScript SDK, pinned)
# into DIR (idempotent). After it: node DIR/client.mjs PLAN.json
set -euo pipefail
dir=${1:?usage: setup.sh DIR}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cp "$src/package.json" "$src/client.mjs" "$dir/"
cd "$dir"
if [ ! -d node_modules/@modelcontextprotocol/sdk ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "$dir/client.mjs"
