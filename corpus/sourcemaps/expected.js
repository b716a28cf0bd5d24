// node expected.js OUT — prints OUT/expected.json (build.sh writes it).
//
// For every `// @leak-site: NAME` marker in OUT/tsc/src (the copy of
// corpus/sourcemaps/src that was compiled) the original position: source
// (relative to corpus/sourcemaps, e.g. src/audit.ts), 1-based line, and the
// 1-based column of the line's first non-space character. Under `compiled`,
// for each build, where that position went: the generated position of the
// first source-map segment on that original line at or after that column,
// read back from the build's own source map (the missing-map build has the
// same code as the tsc build, its maps deleted).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const out = path.resolve(process.argv[2] || '.');
const srcRoot = path.join(out, 'tsc');

const sites = {};
for (const name of fs.readdirSync(path.join(srcRoot, 'src')).sort()) {
  if (!name.endsWith('.ts')) continue;
  const rel = `src/${name}`;
  const lines = fs.readFileSync(path.join(srcRoot, rel), 'utf8').split('\n');
  lines.forEach((text, i) => {
    const m = /\/\/ @leak-site: ([\w-]+)\s*$/.exec(text);
    if (!m) return;
    if (sites[m[1]]) throw new Error(`leak site ${m[1]} marked twice`);
    sites[m[1]] = { source: rel, line: i + 1, column: text.search(/\S/) + 1, compiled: {} };
  });
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Decodes a v3 map's `mappings` into [genLine, genCol, source, origLine, origCol] (0-based). */
function segments(map) {
  const all = [];
  let src = 0, oLine = 0, oCol = 0;
  map.mappings.split(';').forEach((line, gLine) => {
    let gCol = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const v = [];
      let value = 0, shift = 0;
      for (const ch of seg) {
        const d = B64.indexOf(ch);
        value += (d & 31) << shift;
        if (d & 32) { shift += 5; continue; }
        v.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = 0; shift = 0;
      }
      gCol += v[0];
      if (v.length < 4) continue;
      src += v[1]; oLine += v[2]; oCol += v[3];
      all.push([gLine, gCol, src, oLine, oCol]);
    }
  });
  return all;
}

function readMap(js) {
  const text = fs.readFileSync(js, 'utf8');
  const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text);
  if (!m) throw new Error(`${js}: no sourceMappingURL`);
  const url = m[1];
  const data = /^data:application\/json;(?:charset=utf-8;)?base64,(.*)$/.exec(url);
  const map = data
    ? JSON.parse(Buffer.from(data[1], 'base64').toString('utf8'))
    : JSON.parse(fs.readFileSync(path.resolve(path.dirname(js), url), 'utf8'));
  const base = path.resolve(path.dirname(js), map.sourceRoot || '');
  return { map, sources: map.sources.map((s) => path.resolve(base, s)), lines: text.split('\n') };
}

function locate(build, js, shownAs) {
  const { map, sources, lines } = readMap(js);
  const segs = segments(map);
  for (const site of Object.values(sites)) {
    const idx = sources.indexOf(path.join(srcRoot, site.source));
    if (idx < 0) continue;
    const hit = segs
      .filter((s) => s[2] === idx && s[3] === site.line - 1 && s[4] >= site.column - 1)
      .sort((a, b) => a[4] - b[4] || a[0] - b[0] || a[1] - b[1])[0];
    if (!hit) throw new Error(`${build}: no mapping for ${site.source}:${site.line}`);
    // esbuild maps a line's indentation too: start at its first non-space.
    const indent = lines[hit[0]].search(/\S/);
    site.compiled[build] = {
      file: shownAs,
      line: hit[0] + 1,
      column: Math.max(hit[1], indent) + 1,
      text: lines[hit[0]].trim().slice(0, 120),
    };
  }
}

for (const name of fs.readdirSync(path.join(out, 'tsc/dist')).sort()) {
  if (!name.endsWith('.js')) continue;
  locate('tsc', path.join(out, 'tsc/dist', name), `tsc/dist/${name}`);
}
for (const site of Object.values(sites)) {
  site.compiled['missing-map'] = { ...site.compiled.tsc, file: site.compiled.tsc.file.replace(/^tsc\//, 'missing-map/') };
}
locate('bundle', path.join(out, 'bundle/server.js'), 'bundle/server.js');

process.stdout.write(JSON.stringify(sites, null, 2) + '\n');
