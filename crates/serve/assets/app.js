'use strict';
// leakscope's explorer: DevTools' Memory panel views over the server's
// paged API. Trees are virtual: only the rows on screen exist in the DOM,
// and children are fetched a page at a time as they scroll into view.

const ROW = 20;
const PAGE = 200;
const $ = (selector) => document.querySelector(selector);
const fmt = (n) => Number(n).toLocaleString('en-US');
const pct = (n, total) => (total > 0 ? `${Math.round((n * 100) / total)} %` : '');

// The run's token: from the fragment of the URL leakscope printed (never
// sent to a server), then kept in this origin's session storage (no other
// server or page can read it) and sent as a header, never as a cookie.
const TOKEN = (() => {
  const found = /(?:^#|&)token=([0-9a-f]+)/.exec(location.hash);
  if (found) {
    sessionStorage.setItem('leakscope-token', found[1]);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('leakscope-token') || '';
})();
const authorized = (init = {}) => ({
  ...init,
  credentials: 'omit',
  headers: { ...(init.headers || {}), 'X-Leakscope-Token': TOKEN },
});

async function api(path) {
  const response = await fetch(path, authorized());
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// One node of a virtual tree. `rows` is how many rows its expanded subtree
// shows below it; loaded children live in a sparse array.
class TreeNode {
  constructor(data, depth, parent, count) {
    this.data = data;
    this.depth = depth;
    this.parent = parent;
    this.count = count; // children, known before they are loaded
    this.items = [];
    this.kids = new Map(); // index -> TreeNode, for children that were expanded
    this.expanded = false;
    this.extra = 0; // rows of expanded descendants
  }
  get rows() {
    return this.expanded ? this.count + this.extra : 0;
  }
}

class TreeGrid {
  // columns: [{ title, cell(data) -> Node|string, className }]
  // loader(data, offset, limit) -> Promise<{ total, items }>; data null = top level
  constructor(container, columns, loader, options = {}) {
    this.container = container;
    this.columns = columns;
    this.loader = loader;
    this.onSelect = options.onSelect || (() => {});
    this.childCount = options.childCount || ((d) => d.children || 0);
    this.nameCell = options.nameCell;
    this.filter = options.filter || (() => true);
    this.pending = new Set();
    this.selected = null;
    container.replaceChildren();
    const head = el('div', 'head');
    head.append(el('div', 'cell name', options.title || 'Constructor'));
    for (const c of columns) head.append(el('div', `cell ${c.className || 'num'}`, c.title));
    this.viewport = el('div', 'viewport');
    this.spacer = el('div', 'spacer');
    this.viewport.append(this.spacer);
    container.append(head, this.viewport);
    this.viewport.addEventListener('scroll', () => this.render());
    this.root = new TreeNode(null, -1, null, 0);
    this.root.expanded = true;
    this.ready = this.fetch(this.root, 0);
  }

  async fetch(node, page) {
    const key = page;
    if (!node.pendingPages) node.pendingPages = new Set();
    if (node.pendingPages.has(key)) return;
    node.pendingPages.add(key);
    this.pending.add(node);
    try {
      const answer = await this.loader(node.data, page * PAGE, PAGE);
      const grew = answer.total - node.count;
      node.count = answer.total;
      answer.items.forEach((item, i) => { node.items[answer.offset + i] = item; });
      if (grew && node.expanded) this.propagate(node.parent, grew);
    } catch (error) {
      status(`error: ${error.message}`, true);
    } finally {
      this.pending.delete(node);
      this.render();
    }
  }

  propagate(node, delta) {
    for (let n = node; n; n = n.parent) {
      n.extra += delta;
      if (!n.expanded) break;
    }
  }

  // The row at `r` below `node`: { node (parent), index } or a kid TreeNode.
  locate(node, r) {
    let acc = 0;
    const kids = [...node.kids.entries()].filter(([, k]) => k.expanded).sort((a, b) => a[0] - b[0]);
    for (const [index, kid] of kids) {
      const at = index + acc;
      if (r < at) break;
      if (r === at) return { parent: node, index };
      if (r <= at + kid.rows) return this.locate(kid, r - at - 1);
      acc += kid.rows;
    }
    return { parent: node, index: r - acc };
  }

  toggle(parent, index) {
    const data = parent.items[index];
    if (!data || this.childCount(data) === 0) return;
    let kid = parent.kids.get(index);
    if (!kid) {
      kid = new TreeNode(data, parent.depth + 1, parent, this.childCount(data));
      parent.kids.set(index, kid);
    }
    kid.expanded = !kid.expanded;
    const delta = kid.expanded ? kid.count + kid.extra : -(kid.count + kid.extra);
    this.propagate(parent, delta);
    const fetched = kid.expanded && kid.items.length === 0 ? this.fetch(kid, 0) : Promise.resolve();
    this.render();
    return fetched;
  }

  render() {
    const total = this.root.rows;
    this.spacer.style.height = `${total * ROW}px`;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW) - 5);
    const last = Math.min(total, first + Math.ceil((this.viewport.clientHeight || 600) / ROW) + 10);
    const rows = [];
    for (let r = first; r < last; r++) {
      const { parent, index } = this.locate(this.root, r);
      const data = parent.items[index];
      if (data === undefined) this.fetch(parent, Math.floor(index / PAGE));
      rows.push(this.renderRow(r, parent, index, data));
    }
    this.spacer.replaceChildren(...rows);
  }

  renderRow(r, parent, index, data) {
    const row = el('div', 'row');
    row.style.top = `${r * ROW}px`;
    const name = el('div', 'cell name');
    name.style.paddingLeft = `${6 + (parent.depth + 1) * 14}px`;
    if (data === undefined) {
      name.append(el('span', 'pending', '…'));
      row.append(name);
      return row;
    }
    const kid = parent.kids.get(index);
    const toggle = el('span', 'toggle', this.childCount(data) ? (kid && kid.expanded ? '▾' : '▸') : '');
    toggle.addEventListener('click', (e) => { e.stopPropagation(); this.toggle(parent, index); });
    name.append(toggle, this.nameCell(data));
    row.append(name);
    for (const c of this.columns) row.append(el('div', `cell ${c.className || 'num'}`, c.cell(data)));
    if (data.id !== undefined) row.dataset.id = data.id;
    if (this.selected === data) row.classList.add('selected');
    row.addEventListener('click', () => { this.selected = data; this.onSelect(data); this.render(); });
    row.addEventListener('dblclick', () => this.toggle(parent, index));
    return row;
  }
}

// ---- state ----------------------------------------------------------------

const state = {
  snapshots: [],
  current: null, // index
  base: null,
  view: 'summary',
  overview: null,
  ignored: new Set(),
  retainersOf: null,
};

function status(text, error = false) {
  const s = $('#status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

const sizeColumns = () => [
  { title: 'Distance', cell: (d) => (d.distance >= 100000000 ? '–' : fmt(d.distance)) },
  { title: 'Shallow Size', cell: (d) => fmt(d.shallowSize) },
  { title: '', className: 'pct', cell: (d) => pct(d.shallowSize, state.overview.rootRetainedSize) },
  { title: 'Retained Size', cell: (d) => fmt(d.retainedSize) },
  { title: '', className: 'pct', cell: (d) => pct(d.retainedSize, state.overview.rootRetainedSize) },
];

function objectName(d) {
  const span = el('span');
  if (d.edge !== undefined) span.append(el('span', 'edge', d.edge), ' :: ');
  const shown = d.type === 'string' || d.type === 'concatenated string' || d.type === 'sliced string'
    ? `"${d.name.slice(0, 200)}"` : (d.name || d.className);
  span.append(shown, ' ', el('span', 'id', `@${d.id}`));
  return span;
}

const base = () => `/api/s/${state.current}`;

// ---- views ----------------------------------------------------------------

function showSummary() {
  const filter = $('#class-filter').value;
  return new TreeGrid($('#grid'), [
    { title: 'Count', cell: (d) => (d.count !== undefined ? fmt(d.count) : '') },
    ...sizeColumns(),
  ], async (data, offset, limit) => {
    if (data === null) {
      const classes = await api(`${base()}/classes?filter=${encodeURIComponent(filter)}`);
      $('#totals').textContent = `${fmt(classes.length)} classes`;
      return { total: classes.length, offset: 0, items: classes };
    }
    if (data.key !== undefined) {
      return api(`${base()}/instances?key=${encodeURIComponent(data.key)}&offset=${offset}&limit=${limit}`);
    }
    return api(`${base()}/fields/${data.id}?offset=${offset}&limit=${limit}`);
  }, {
    childCount: (d) => (d.key !== undefined ? d.count : d.children),
    nameCell: (d) => (d.key !== undefined ? el('span', 'class', d.name) : objectName(d)),
    onSelect: selectObject,
  });
}

function showContainment() {
  return new TreeGrid($('#grid'), sizeColumns(), (data, offset, limit) =>
    api(`${base()}/fields/${data ? data.id : state.overview.rootId}?offset=${offset}&limit=${limit}`), {
    title: 'Object',
    nameCell: objectName,
    onSelect: selectObject,
  });
}

function showDominators() {
  return new TreeGrid($('#grid'), sizeColumns(), (data, offset, limit) =>
    api(`${base()}/dominated/${data ? data.id : state.overview.rootId}?offset=${offset}&limit=${limit}`), {
    title: 'Object',
    nameCell: objectName,
    onSelect: selectObject,
  });
}

function showComparison() {
  const others = state.snapshots.filter((s) => s.state === 'ready' && s.kind === 'snapshot' && s.index !== state.current);
  const select = $('#base');
  const previous = state.base;
  select.replaceChildren(...others.map((s) => new Option(s.name, s.index)));
  if (others.length === 0) {
    $('#grid').replaceChildren(el('p', 'ignored-note', 'Load a second snapshot to compare.'));
    return null;
  }
  state.base = others.some((s) => s.index === previous) ? previous
    : (others.filter((s) => s.index < state.current).pop() || others[0]).index;
  select.value = state.base;
  const filter = $('#class-filter').value.toLowerCase();
  return new TreeGrid($('#grid'), [
    // Objects under a class show their own size as allocated or freed.
    { title: '# New', cell: (d) => (d.key !== undefined ? fmt(d.addedCount) : '') },
    { title: '# Deleted', cell: (d) => (d.key !== undefined ? fmt(d.removedCount) : '') },
    { title: '# Delta', cell: (d) => (d.key !== undefined ? signed(d.countDelta) : '') },
    { title: 'Alloc. Size', cell: (d) => (d.key !== undefined ? fmt(d.addedSize) : d.deleted === false ? fmt(d.shallowSize) : '') },
    { title: 'Freed Size', cell: (d) => (d.key !== undefined ? fmt(d.removedSize) : d.deleted ? fmt(d.shallowSize) : '') },
    { title: 'Size Delta', cell: (d) => (d.key !== undefined ? signed(d.sizeDelta) : '') },
  ], async (data, offset, limit) => {
    if (data === null) {
      const diff = (await api(`/api/compare?base=${state.base}&current=${state.current}`))
        .filter((d) => d.name.toLowerCase().includes(filter));
      $('#totals').textContent = `${fmt(diff.length)} classes changed`;
      return { total: diff.length, offset: 0, items: diff };
    }
    // A class: its new objects, then its deleted ones (from the base).
    if (data.key !== undefined) {
      return api(`/api/compare/members?base=${state.base}&current=${state.current}&key=${encodeURIComponent(data.key)}&offset=${offset}&limit=${limit}`);
    }
    const from = data.deleted || data.fromBase ? state.base : state.current;
    const page = await api(`/api/s/${from}/fields/${data.id}?offset=${offset}&limit=${limit}`);
    page.items.forEach((item) => { item.fromBase = from === state.base; });
    return page;
  }, {
    childCount: (d) => (d.key !== undefined ? d.addedCount + d.removedCount : d.children),
    nameCell: (d) => {
      if (d.key !== undefined) return el('span', 'class', d.name);
      const name = objectName(d);
      if (d.deleted !== undefined) name.prepend(el('span', d.deleted ? 'deleted' : 'new', d.deleted ? '− ' : '+ '));
      return name;
    },
    onSelect: (d) => selectObject(d, d.deleted || d.fromBase ? state.base : state.current),
  });
}

const signed = (n) => (n > 0 ? `+${fmt(n)}` : fmt(n));

function showStrings() {
  return new TreeGrid($('#grid'), [
    { title: 'Count', cell: (d) => fmt(d.count) },
    { title: 'Total Size', cell: (d) => fmt(d.totalSize) },
    { title: 'Wasted', cell: (d) => fmt(d.wastedSize) },
  ], async (data, offset, limit) => {
    const page = await api(`${base()}/strings?offset=${offset}&limit=${limit}`);
    $('#totals').textContent = `${fmt(page.total)} duplicated strings`;
    return page;
  }, { title: 'String', childCount: () => 0, nameCell: (d) => el('span', '', `"${d.text.slice(0, 300)}"`) });
}

function showStatistics() {
  const s = state.overview.statistics;
  const parts = [
    ['Code', s.v8heap.code, '#f4b400'],
    ['Strings', s.v8heap.strings, '#db4437'],
    ['JS arrays', s.v8heap.jsArrays, '#0f9d58'],
    ['Typed arrays', s.native.typedArrays, '#ab47bc'],
    ['System objects', s.v8heap.system, '#4285f4'],
  ];
  const other = s.total - parts.reduce((sum, p) => sum + p[1], 0);
  parts.push(['Other', Math.max(0, other), '#9e9e9e']);
  const box = $('#statistics');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', '600');
  svg.setAttribute('height', '40');
  svg.setAttribute('id', 'statistics-chart');
  let x = 0;
  for (const [name, value, color] of parts) {
    const w = s.total > 0 ? (value * 600) / s.total : 0;
    const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    rect.setAttribute('x', x);
    rect.setAttribute('y', 0);
    rect.setAttribute('width', Math.max(0, w));
    rect.setAttribute('height', 40);
    rect.setAttribute('fill', color);
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = `${name}: ${fmt(value)} bytes`;
    rect.append(title);
    svg.append(rect);
    x += w;
  }
  const table = el('table');
  table.id = 'statistics-table';
  for (const [name, value] of [...parts, ['Total', s.total]]) {
    const tr = el('tr');
    tr.append(el('td', '', name), el('td', 'num', fmt(value)), el('td', 'num', pct(value, s.total)));
    table.append(tr);
  }
  box.replaceChildren(svg, table);
  $('#totals').textContent = `${fmt(s.total)} bytes in all`;
}

// ---- allocation timeline ----------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attributes) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  return e;
}

async function showTimeline() {
  const timeline = await api(`${base()}/timeline`);
  const chart = $('#timeline-chart');
  const width = 1000;
  const height = 120;
  const seconds = timeline.recordingSeconds || 1;
  const x = (t) => (t / seconds) * width;
  const largest = Math.max(1, ...timeline.bars.map((b) => b.size));
  chart.replaceChildren(...timeline.bars.map((b) => {
    const h = (b.size / largest) * height;
    const bar = svgEl('rect', {
      class: 'bar', x: x(b.fromSeconds), y: height - h, width: Math.max(1, x(b.toSeconds) - x(b.fromSeconds) - 1), height: h,
    });
    const title = svgEl('title', {});
    title.textContent = `${b.fromSeconds.toFixed(2)}–${b.toSeconds.toFixed(2)} s: ${fmt(b.count)} live objects, ${fmt(b.size)} bytes`;
    bar.append(title);
    return bar;
  }));
  const selection = svgEl('rect', { class: 'selection', x: 0, y: 0, width: 0, height });
  chart.append(selection);
  const timeAt = (event) => {
    const box = chart.getBoundingClientRect();
    return Math.min(seconds, Math.max(0, ((event.clientX - box.left) / box.width) * seconds));
  };
  let start = null;
  chart.onmousedown = (e) => { start = timeAt(e); };
  chart.onmousemove = (e) => {
    if (start === null) return;
    const t = timeAt(e);
    selection.setAttribute('x', x(Math.min(start, t)));
    selection.setAttribute('width', Math.abs(x(t) - x(start)));
  };
  chart.onmouseup = (e) => {
    if (start === null) return;
    const t = timeAt(e);
    const [from, to] = [Math.min(start, t), Math.max(start, t)];
    start = null;
    if (to - from > 0) selectRange(from, to);
  };
  selection.setAttribute('width', width);
  return selectRange(0, seconds);
}

async function selectRange(from, to) {
  const summary = $('#timeline-summary');
  summary.dataset.from = from;
  summary.dataset.to = to;
  const allocated = await api(`${base()}/allocated?from=${from}&to=${to}`);
  summary.textContent = `Allocated between ${from.toFixed(2)} s and ${to.toFixed(2)} s of ${allocated.recording_seconds.toFixed(2)} s and still alive: ${fmt(allocated.objects)} objects, ${fmt(allocated.shallow_size)} bytes`;
  const frames = (stack) => (stack.frames.length
    ? stack.frames.map((f) => `${f.function || '(anonymous)'}${f.script ? ` ${f.script}:${f.line}:${f.column}` : ''}`).join(' ← ')
    : '(allocated before tracking started or by the runtime)');
  grid = new TreeGrid($('#grid'), [
    { title: 'Count', cell: (d) => fmt(d.count) },
    { title: 'Shallow Size', cell: (d) => fmt(d.shallow_size) },
  ], async (data) => {
    const items = data === null ? allocated.classes : data.stacks;
    return { total: items.length, offset: 0, items };
  }, {
    childCount: (d) => (d.stacks ? d.stacks.length : 0),
    nameCell: (d) => (d.stacks ? el('span', 'class', d.name) : el('span', 'stack', frames(d))),
  });
  await grid.ready;
  summary.dataset.ready = `${from}-${to}`;
}

// ---- flame graph (sampling heap profiles) ---------------------------------

// Frames narrower than this share of the shown root are left out.
const NARROWEST = 0.002;

async function showFlame() {
  const tree = await api(`${base()}/flame`);
  const path = [tree];
  const render = () => {
    const root = path[path.length - 1];
    const crumbs = el('div');
    crumbs.id = 'flame-crumbs';
    path.forEach((node, i) => {
      if (i > 0) crumbs.append(' › ');
      const crumb = i < path.length - 1 ? el('span', '', node.name) : el('b', '', node.name);
      if (i < path.length - 1) crumb.addEventListener('click', () => { path.length = i + 1; render(); });
      crumbs.append(crumb);
    });
    crumbs.append(` — ${fmt(root.total)} bytes sampled`);
    $('#flame').replaceChildren(crumbs, frame(root, root.total, (node) => { path.push(node); render(); }));
    $('#totals').textContent = `${fmt(tree.total)} bytes in the profile`;
  };
  render();
}

function frame(node, rootTotal, zoom) {
  const box = el('div', `frame${node.name.includes('node_modules') || node.name.includes('node:') || !node.name.includes(' ') ? '' : ' app'}`);
  box.style.width = '100%';
  box.dataset.total = node.total;
  box.dataset.name = node.name;
  const label = el('div', 'label', `${node.name} (${fmt(node.total)})`);
  label.title = `${node.name}\nself ${fmt(node.self)} bytes, total ${fmt(node.total)} bytes (${pct(node.total, rootTotal)})`;
  label.addEventListener('click', () => zoom(node));
  const kids = el('div', 'kids');
  for (const child of node.children) {
    if (child.total < rootTotal * NARROWEST) continue;
    const slot = frame(child, rootTotal, zoom);
    slot.style.width = `${(child.total * 100) / node.total}%`;
    kids.append(slot);
  }
  box.append(label, kids);
  return box;
}

// ---- hunt report -------------------------------------------------------------

const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;

// A line through `values` (one per x step) with its first and last labelled.
function linePlot(values, labels, format) {
  const w = 640;
  const h = 160;
  const pad = 24;
  const top = Math.max(...values) * 1.05 || 1;
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, values.length - 1);
  const y = (v) => h - pad - (v / top) * (h - 2 * pad);
  const svg = svgEl('svg', { class: 'plot', viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none' });
  svg.append(svgEl('polyline', { class: 'line', points: values.map((v, i) => `${x(i)},${y(v)}`).join(' ') }));
  values.forEach((v, i) => {
    const dot = svgEl('circle', { class: 'dot', cx: x(i), cy: y(v), r: 3 });
    const title = svgEl('title', {});
    title.textContent = `${labels[i]}: ${format(v)}`;
    dot.append(title);
    svg.append(dot);
    const label = svgEl('text', { x: x(i), y: h - 6, 'text-anchor': 'middle' });
    label.textContent = labels[i];
    svg.append(label);
  });
  const scale = svgEl('text', { x: 4, y: 12 });
  scale.textContent = format(top / 1.05);
  svg.append(scale);
  return svg;
}

// Every GC's pause over the hunt's time: full GCs red.
function gcPlot(gcs) {
  const w = 640;
  const h = 160;
  const pad = 24;
  const span = Math.max(1e-3, ...gcs.map((g) => g.seconds));
  const top = Math.max(1, ...gcs.map((g) => g.pause_ms)) * 1.05;
  const svg = svgEl('svg', { class: 'plot', viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none' });
  svg.id = 'hunt-gc-plot';
  for (const g of gcs) {
    const dot = svgEl('circle', {
      class: g.kind === 'mark-compact' ? 'major' : 'minor',
      cx: pad + (g.seconds / span) * (w - 2 * pad),
      cy: h - pad - (g.pause_ms / top) * (h - 2 * pad),
      r: 2.5,
    });
    const title = svgEl('title', {});
    title.textContent = `${g.seconds.toFixed(1)} s: ${g.kind}, ${g.pause_ms.toFixed(1)} ms, heap ${mb(g.heap_used)}`;
    dot.append(title);
    svg.append(dot);
  }
  const scale = svgEl('text', { x: 4, y: 12 });
  scale.textContent = `${(top / 1.05).toFixed(1)} ms`;
  const end = svgEl('text', { x: w - pad, y: h - 6, 'text-anchor': 'end' });
  end.textContent = `${span.toFixed(0)} s`;
  svg.append(scale, end);
  return svg;
}

function table(headers, rows, numeric = () => false) {
  const t = el('table');
  const head = el('tr');
  headers.forEach((h, i) => head.append(el('th', numeric(i) ? 'num' : '', h)));
  t.append(head);
  for (const r of rows) {
    const tr = el('tr');
    r.forEach((c, i) => tr.append(el('td', numeric(i) ? 'num' : '', c)));
    t.append(tr);
  }
  return t;
}

// Shows object `id` of snapshot `index` in the Summary view, with its
// retainers: where every link of a hunt report leads.
async function openObject(index, id) {
  state.current = index;
  state.view = 'summary';
  renderSnapshotList();
  await show();
  const node = await api(`${base()}/node/${id}`);
  selectObject(node);
  status(`${state.snapshots[index].name}: retainers of @${id}`);
}

function pathLine(steps, snapshot) {
  const line = el('div', 'path');
  steps.forEach((step, i) => {
    if (i > 0) line.append(' → ');
    if (step.edge) line.append(el('span', 'edge', step.edge), ' ');
    const node = el('span', snapshot === undefined ? '' : 'step', `${step.node} @${step.id}`);
    node.dataset.id = step.id;
    if (snapshot !== undefined) node.addEventListener('click', () => openObject(snapshot, step.id));
    line.append(node);
  });
  return line;
}

// "865 bytes/request" or "1,204 bytes/s": a rate as the hunt counted it
// (per request under its own HTTP load, per second otherwise).
function rate(perRequest, perSecond, unit, digits = 0) {
  const n = (x) => (digits ? x.toFixed(digits) : fmt(Math.round(x)));
  const u = unit ? ` ${unit}` : '';
  if (perRequest !== undefined) return `${n(perRequest)}${u}/request`;
  if (perSecond !== undefined) return `${n(perSecond)}${u}/s`;
  return '';
}

// How the hunt's rounds were driven, in a few words.
function driven(h) {
  if (h.load === 'command') return `load by \`${h.load_command}\``;
  if (h.load === 'none') return 'no load (the process\'s own work)';
  return `load on ${h.url}: ${fmt(Math.round(h.requests_per_second || 0))} req/s (${h.concurrency} connections)`;
}

async function showHunt() {
  const { report: h, snapshots } = await api(`${base()}/hunt`);
  const last = snapshots.length ? snapshots[snapshots.length - 1] : undefined;
  const box = $('#hunt');
  const leak = h.findings.length > 0;
  const verdict = el('h2', `verdict ${leak ? 'leak' : 'clean'}`, leak ? `Leak: ${h.findings[0].holder}` : `No leak (${h.verdict})`);
  verdict.id = 'hunt-verdict';
  const parts = [verdict,
    el('div', 'muted', `Confidence ${h.confidence}: ${h.confidence_reason}`),
    el('div', 'muted', `${h.target}, PID ${h.pid}, ${driven(h)}: ${h.rounds.length} rounds in ${h.seconds.toFixed(1)} s`)];
  for (const t of h.threads || []) {
    parts.push(el('div', 'muted', `Heap of ${t.thread} after GC: ${t.heap_used.map(mb).join(' → ')}${t.judged ? '' : ' (not judged)'}`));
  }
  if (h.stopped_by) parts.push(el('div', 'error', `Stopped by ${h.stopped_by}`));
  for (const w of h.warnings) parts.push(el('div', 'error', `Warning: ${w}`));
  if (last === undefined) {
    parts.push(el('div', 'muted', 'The snapshots were not kept (leakscope hunt --keep keeps them): paths are not links.'));
  }
  h.findings.forEach((f, n) => {
    const card = el('div', 'finding');
    card.dataset.holder = f.holder;
    card.append(el('h3', '', `${n + 1}. ${f.holder}${f.package ? ` — package ${f.package}` : ''}${f.thread && f.thread !== 'main' ? ` — in ${f.thread}` : ''}`));
    const hourly = f.mb_per_hour === undefined ? '' : `, ${f.mb_per_hour.toFixed(1)} MB/hour${h.requests_per_second ? ` at ${fmt(Math.round(h.requests_per_second))} req/s` : ''}`;
    card.append(el('div', 'figures', `${fmt(f.leaked_items.count)} × ${f.leaked_items.name} added, ${rate(f.bytes_per_request, f.bytes_per_second, 'bytes')} (${rate(f.objects_per_request, f.objects_per_second, 'objects', 2)})${hourly}; ${fmt(f.bytes)} bytes in all${f.external_bytes ? `, ${fmt(f.external_bytes)} outside the JS heap` : ''}`));
    card.append(el('div', 'muted', `Confidence ${f.confidence}: ${f.evidence}`));
    card.append(el('h3', '', 'Retaining path (from the GC roots to the holder, then to one leaked item)'));
    card.append(pathLine(f.path_to_holder, last), pathLine(f.path_to_leaked, last));
    if (last !== undefined) {
      const example = el('span', 'step', `Show a leaked ${f.leaked_items.name} @${f.example_id} and its retainers`);
      example.classList.add('example');
      example.addEventListener('click', () => openObject(last, f.example_id));
      card.append(example);
    }
    if (f.allocation) {
      card.append(el('h3', '', `Allocated at (${f.allocation.source})`));
      const stack = el('div', 'path');
      f.allocation.stack.forEach((frame) => stack.append(el('div', '', frame)));
      card.append(stack);
    }
    const unnamed = f.anonymous_functions || [];
    if (unnamed.length) card.append(el('h3', '', 'Unnamed functions'));
    for (const fn of unnamed) card.append(el('div', 'unnamed', fn.advice));
    card.append(table(['Class', 'New objects', 'Bytes', 'Rate'],
      f.classes.slice(0, 8).map((c) => [c.name, fmt(c.count), fmt(c.bytes), rate(c.per_request, c.per_second, '', 2)]), (i) => i > 0));
    parts.push(card);
  });
  const labels = ['baseline', ...h.rounds.map((_, i) => `round ${i + 1}`)];
  const heaps = [h.baseline_memory.heap_used, ...h.rounds.map((r) => r.memory.heap_used)];
  const heapPlot = linePlot(heaps, labels, mb);
  heapPlot.id = 'hunt-heap-plot';
  parts.push(el('h3', '', 'Heap after GC, snapshot by snapshot'), heapPlot);
  parts.push(el('h3', '', `Every GC (${fmt(h.gcs.length)}): pause over time, full GCs in red`), gcPlot(h.gcs));
  const rounds = table(['Round', 'Requests', 'Seconds', 'Req/s', 'p99 ms', 'Heap after GC', 'RSS', 'Ended by', 'Snapshot s'],
    h.rounds.map((r, i) => [String(i + 1), fmt(r.requests), r.seconds.toFixed(1), fmt(Math.round(r.requests_per_second)), r.p99_ms.toFixed(1), mb(r.memory.heap_used), mb(r.memory.rss), r.ended_by, r.snapshot_seconds.toFixed(1)]),
    (i) => i > 0 && i !== 7);
  rounds.id = 'hunt-rounds';
  parts.push(el('h3', '', 'Rounds'), rounds);
  if (h.growing_classes.length) {
    parts.push(el('h3', '', 'Classes whose count rose at every snapshot'),
      table(['Class', 'Thread', 'Counts', 'Rate'], h.growing_classes.slice(0, 20).map((c) => [c.name, c.thread || 'main', c.counts.map(fmt).join(' → '), rate(c.per_request, c.per_second, '', 2)]), (i) => i === 3));
  }
  if (h.notes.length) {
    const notes = el('ul');
    h.notes.forEach((n) => notes.append(el('li', '', n)));
    parts.push(el('h3', '', 'What the hunt decided on the way'), notes);
  }
  box.replaceChildren(...parts);
  $('#totals').textContent = `${h.findings.length} finding(s)`;
}

// ---- retainers ------------------------------------------------------------

// Shows the retainers of object `d` of snapshot `snapshot` (the current
// one unless it is a deleted object of a Comparison's base).
function selectObject(d, snapshot = state.current) {
  if (d.id === undefined) return;
  state.retainersOf = d;
  state.retainersIn = snapshot;
  const where = snapshot === state.current ? '' : ` in ${state.snapshots[snapshot].name}`;
  $('#retainers-of').textContent = `of ${d.name || d.className} @${d.id}${where}`;
  showRetainers();
}

// DevTools' "Ignore this retainer": the server recomputes distances
// without entering the ignored objects; they stay listed, last, greyed.
function showRetainers() {
  const d = state.retainersOf;
  if (!d) return;
  const ignore = [...state.ignored].join(',');
  const grid = new TreeGrid($('#retainers'), sizeColumns(), (data, offset, limit) =>
    api(`/api/s/${state.retainersIn}/retainers/${data ? data.id : d.id}?offset=${offset}&limit=${limit}&ignore=${ignore}`), {
    title: 'Object',
    nameCell: (r) => {
      const name = objectName(r);
      if (r.ignored) name.classList.add('ignored');
      const span = el('span');
      span.append(name);
      const toggle = el('span', 'ignore', r.ignored ? 'stop ignoring' : 'ignore this retainer');
      toggle.addEventListener('click', (e) => {
        e.stopPropagation();
        if (r.ignored) state.ignored.delete(r.id);
        else state.ignored.add(r.id);
        showRetainers();
      });
      span.append(toggle);
      return span;
    },
  });
  if (state.ignored.size) {
    const note = el('div', 'ignored-note', `${state.ignored.size} retainer(s) ignored — `);
    const undo = el('span', 'ignore', 'stop ignoring all');
    undo.addEventListener('click', () => { state.ignored.clear(); showRetainers(); });
    note.append(undo);
    $('#retainers').prepend(note);
  }
  $('#retainers').dataset.ready = '';
  grid.ready.then(() => expandFirstChain(grid)).then(() => { $('#retainers').dataset.ready = ignore || 'none'; });
}

// As DevTools does on opening: expand the first retainer, its first
// retainer, … (at most 20 levels) while it is neither a root's child
// (distance 1) nor unreachable, and not an object already on the chain.
async function expandFirstChain(grid) {
  let node = grid.root;
  const seen = new Set([state.retainersOf.id]);
  for (let level = 0; level < 20; level++) {
    const first = node.items[0];
    if (!first || first.distance <= 1 || first.distance >= 100000000 || seen.has(first.id) || !first.children) return;
    seen.add(first.id);
    await grid.toggle(node, 0);
    node = node.kids.get(0);
  }
}

// ---- live mode --------------------------------------------------------------

async function post(path) {
  const response = await fetch(path, authorized({ method: 'POST' }));
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// The target's heap (used and total, sampled every second) with a mark
// for each GC at the heap it left: full GCs red, the others grey.
function drawHeap(points, gcs) {
  const chart = $('#live-chart');
  if (points.length < 2) return;
  const t0 = points[0].seconds;
  const span = Math.max(1, points[points.length - 1].seconds - t0);
  const top = Math.max(...points.map((p) => p.total));
  const x = (seconds) => ((seconds - t0) / span) * 600;
  const y = (bytes) => 60 - (bytes / top) * 58;
  const line = (key) => points.map((p) => `${x(p.seconds)},${y(p[key])}`).join(' ');
  const title = svgEl('title', {});
  const last = points[points.length - 1];
  const shown = gcs.filter((g) => g.seconds >= t0);
  const full = shown.filter((g) => g.kind === 'mark-compact');
  title.textContent = `heap used ${fmt(last.used)} of ${fmt(last.total)} bytes; ${fmt(shown.length)} GCs (${fmt(full.length)} full)`;
  const marks = shown.map((g) => svgEl('rect', {
    class: g.kind === 'mark-compact' ? 'gc full' : 'gc', x: x(g.seconds) - 1, y: y(g.used) - 1, width: 2, height: 2,
  }));
  chart.replaceChildren(svgEl('polyline', { class: 'total', points: line('total') }), svgEl('polyline', { class: 'used', points: line('used') }), ...marks, title);
  chart.dataset.points = points.length;
  chart.dataset.used = last.used;
  chart.dataset.gcs = shown.length;
  chart.dataset.fullGcs = full.length;
}

async function pollLive() {
  try {
    const live = await api('/api/live');
    $('#live').hidden = false;
    $('#live-pid').textContent = live.pid;
    $('#live-activity').textContent = live.activity || '';
    drawHeap(live.heap, live.gcs);
    setTimeout(pollLive, 1000);
  } catch (error) {
    // Not live (404): nothing to show. Live but gone: say so once.
    if (!$('#live').hidden) $('#live-result').textContent = `the target is gone: ${error.message}`;
  }
}

async function liveAction(label, path, done) {
  const live = $('#live');
  live.querySelectorAll('button').forEach((b) => { b.disabled = true; });
  $('#live-result').textContent = `${label}…`;
  try {
    const result = await post(path);
    $('#live-result').textContent = done(result);
    if (result.index !== undefined) {
      state.follow = result.index;
      poll();
    }
  } catch (error) {
    $('#live-result').textContent = `${label} failed: ${error.message}`;
  } finally {
    live.querySelectorAll('button').forEach((b) => { b.disabled = false; });
  }
}

// ---- wiring ---------------------------------------------------------------

let grid = null;

async function show() {
  document.querySelectorAll('#views button').forEach((b) => b.classList.toggle('active', b.dataset.view === state.view));
  $('#statistics').hidden = state.view !== 'statistics';
  $('#grid').hidden = state.view === 'statistics';
  $('#base-label').hidden = state.view !== 'comparison';
  $('#class-filter').hidden = !['summary', 'comparison'].includes(state.view);
  $('#timeline').hidden = state.view !== 'timeline';
  $('#totals').textContent = '';
  if (state.current === null) return;
  status('Loading the view…');
  $('body').dataset.view = state.view;
  $('body').dataset.viewReady = '';
  try {
    // A profile shows only its flame graph, a hunt only its report.
    const { kind } = state.snapshots[state.current];
    const only = { profile: 'flame', hunt: 'hunt' }[kind];
    document.querySelectorAll('#views button').forEach((b) => {
      b.hidden = only ? b.dataset.view !== only : ['flame', 'hunt'].includes(b.dataset.view);
    });
    if (only) state.view = only;
    else if (['flame', 'hunt'].includes(state.view)) state.view = 'summary';
    const snapshot = !only;
    document.querySelectorAll('#views button').forEach((b) => b.classList.toggle('active', b.dataset.view === state.view));
    $('#flame').hidden = state.view !== 'flame';
    $('#hunt').hidden = state.view !== 'hunt';
    $('#grid').hidden = ['statistics', 'flame', 'hunt'].includes(state.view);
    $('#retainers-pane').hidden = !snapshot;
    $('#toolbar').hidden = state.view === 'hunt';
    $('#class-filter').hidden = !['summary', 'comparison'].includes(state.view);
    state.overview = snapshot ? await api(`${base()}/overview`) : null;
    const recorded = snapshot && await api(`${base()}/timeline`).then(() => true, () => false);
    $('#views [data-view=timeline]').hidden = !recorded;
    if (state.view === 'timeline' && !recorded) state.view = 'summary';
    const views = {
      flame: showFlame,
      hunt: showHunt,
      timeline: showTimeline,
      summary: showSummary,
      comparison: showComparison,
      containment: showContainment,
      dominators: showDominators,
      statistics: showStatistics,
      strings: showStrings,
    };
    const shown = await views[state.view]();
    if (shown instanceof TreeGrid) {
      grid = shown;
      await grid.ready;
    }
    const snap = state.snapshots[state.current];
    status({ profile: `${snap.name}: sampling heap profile`, hunt: `${snap.name}: hunt report` }[kind]
      || `${snap.name}: ${fmt(state.overview.nodeCount)} nodes, ${fmt(state.overview.rootRetainedSize)} bytes retained from the root`);
    $('body').dataset.viewReady = state.view;
  } catch (error) {
    status(`error: ${error.message}`, true);
  }
}

function renderLoads() {
  const loads = $('#loads');
  loads.replaceChildren(...state.snapshots.filter((s) => s.state !== 'ready').map((s) => {
    const row = el('div', `load ${s.state}`);
    row.append(el('span', '', s.name));
    if (s.state === 'loading') {
      const bar = el('progress');
      bar.max = s.size || 1;
      bar.value = s.bytesRead;
      row.append(bar, el('span', '', s.step || `${fmt(Math.round(s.bytesRead / 1048576))} MB read`));
    } else {
      row.append(el('span', '', s.error));
    }
    return row;
  }));
}

function renderSnapshotList() {
  const select = $('#snapshot');
  const ready = state.snapshots.filter((s) => s.state === 'ready');
  const suffix = { profile: ' (profile)', hunt: ' (hunt report)' };
  select.replaceChildren(...ready.map((s) => new Option(`${s.name}${suffix[s.kind] || ''}`, s.index)));
  if (state.current !== null) select.value = state.current;
}

async function poll() {
  try {
    const before = state.snapshots.filter((s) => s.state === 'ready').length;
    state.snapshots = await api('/api/snapshots');
    const ready = state.snapshots.filter((s) => s.state === 'ready');
    renderLoads();
    renderSnapshotList();
    const loading = state.snapshots.some((s) => s.state === 'loading');
    $('#status').dataset.ready = loading ? '' : 'all';
    const followed = state.follow !== undefined && ready.find((s) => s.index === state.follow);
    if (followed) {
      // A live capture finished analysing: show it.
      state.follow = undefined;
      state.current = followed.index;
      renderSnapshotList();
      show();
    } else if (state.current === null && ready.length) {
      // A hunt report first (it leads into its snapshots), else the newest.
      state.current = (ready.find((s) => s.kind === 'hunt') || ready[ready.length - 1]).index;
      renderSnapshotList();
      show();
    } else if (ready.length !== before && state.view === 'comparison') {
      show();
    }
    if (!ready.length) status(loading ? 'Analysing…' : 'No snapshot loaded: add one.');
    if (loading || state.follow !== undefined) setTimeout(poll, 300);
  } catch (error) {
    status(`error: ${error.message}`, true);
    setTimeout(poll, 2000);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('#views button').forEach((b) => b.addEventListener('click', () => {
    state.view = b.dataset.view;
    show();
  }));
  $('#snapshot').addEventListener('change', (e) => {
    state.current = Number(e.target.value);
    state.retainersOf = null;
    $('#retainers').replaceChildren();
    $('#retainers-of').textContent = '';
    show();
  });
  $('#base').addEventListener('change', (e) => { state.base = Number(e.target.value); show(); });
  let filterTimer = null;
  $('#class-filter').addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(show, 200);
  });
  $('#search-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = $('#search').value.trim();
    if (!q || state.current === null) return;
    const found = await api(`${base()}/search?q=${encodeURIComponent(q)}`);
    if (!found.length) { status(`nothing matches ${q}`); return; }
    status(`${found.length} match(es) for ${q}: showing the first's retainers`);
    selectObject(found[0]);
  });
  $('#upload').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    status(`uploading ${file.name}…`);
    const response = await fetch(`/api/upload?name=${encodeURIComponent(file.name)}`, authorized({ method: 'POST', body: file }));
    if (!response.ok) { status(`upload failed: ${response.statusText}`, true); return; }
    poll();
  });
  $('#live-snapshot').addEventListener('click', () => liveAction('taking a heap snapshot', '/api/live/snapshot', () => 'snapshot taken: analysing it'));
  $('#live-gc').addEventListener('click', () => liveAction('collecting garbage', '/api/live/gc',
    (r) => `GC: heap used ${fmt(r.usedBefore)} → ${fmt(r.usedAfter)} bytes`));
  $('#live-record').addEventListener('click', () => {
    const seconds = Math.min(600, Math.max(1, Number($('#live-seconds').value) || 10));
    liveAction(`recording allocations for ${seconds} s`, `/api/live/record?seconds=${seconds}`, () => 'recording done: analysing it');
  });
  $('#live-hunt').addEventListener('click', () => {
    const path = $('#live-hunt-path').value.trim();
    liveAction('hunting for a leak (up to 90 s)', `/api/live/hunt?path=${encodeURIComponent(path)}`, () => 'hunt done: its report is shown');
  });
  poll();
  pollLive();
});
