#!/usr/bin/env bash
# build.sh OUT — builds the TypeScript app of corpus/sourcemaps three ways
# under OUT (never inside the source tree), for the source-map tests:
#
#   OUT/tools/node_modules   typescript, esbuild and @types/node, pinned in
#                            package-lock.json (npm ci; skipped when unchanged)
#   OUT/tsc/src, tsconfig    a copy of src/ and tsconfig.json, compiled by
#   OUT/tsc/dist/*.js        tsc with a .js.map beside each script
#                            (sources: ../src/*.ts, which exist)
#   OUT/bundle/server.js     esbuild bundle of OUT/tsc/src/server.ts, one file,
#                            inline data: map with sourcesContent
#   OUT/bundle-min/server.js the same bundle minified (--minify: short names
#                            the map gives back)
#   OUT/missing-map/dist     the tsc output with its .map files deleted (the
#                            sourceMappingURL comments stay)
#   OUT/expected.json        each `// @leak-site: NAME`: source, line, column,
#                            and where each build put it (expected.js)
#
# Prints OUT on success and nothing else. Re-running is fast: the builds are
# skipped while OUT/.built is newer than the sources, this script and the tools.
set -euo pipefail
out=${1:?usage: build.sh OUT}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
case "$out/" in
  "$src"/*) echo "build.sh: build outside the source tree (e.g. target/sourcemap-apps)" >&2; exit 2 ;;
esac

tools=$out/tools
mkdir -p "$tools"
cp -p "$src/package.json" "$src/package-lock.json" "$tools/"
if [ ! -d "$tools/node_modules" ] || [ "$tools/package-lock.json" -nt "$tools/node_modules" ]; then
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$tools/node_modules"
fi

stamp=$out/.built
if [ -f "$stamp" ] && [ -f "$out/expected.json" ] &&
  [ -z "$(find "$src/src" "$src/tsconfig.json" "$src/build.sh" "$src/expected.js" \
    "$tools/node_modules" -maxdepth 1 -newer "$stamp" -print -quit)" ]; then
  echo "$out"
  exit 0
fi

bin=$tools/node_modules/.bin
rm -rf "$stamp" "$out/tsc" "$out/bundle" "$out/bundle-min" "$out/missing-map" "$out/expected.json"

mkdir -p "$out/tsc"
cp -R "$src/src" "$out/tsc/src"
cp "$src/tsconfig.json" "$out/tsc/"
"$bin/tsc" -p "$out/tsc" --outDir "$out/tsc/dist" --typeRoots "$tools/node_modules/@types" >&2

# from OUT, so that the bundle's `// tsc/src/NAME.ts` comments do not depend on the caller's directory
(cd "$out" && "$bin/esbuild" tsc/src/server.ts --bundle --platform=node --target=node20 \
  --sourcemap=inline --outfile=bundle/server.js --log-level=warning)
(cd "$out" && "$bin/esbuild" tsc/src/server.ts --bundle --minify --platform=node --target=node20 \
  --sourcemap=inline --outfile=bundle-min/server.js --log-level=warning)

mkdir -p "$out/missing-map"
cp -R "$out/tsc/dist" "$out/missing-map/dist"
rm "$out/missing-map/dist/"*.map

node "$src/expected.js" "$out" >"$out/expected.json.tmp"
mv "$out/expected.json.tmp" "$out/expected.json"
touch "$stamp"
echo "$out"
