'use strict';
// leakscope's explorer: DevTools' Memory panel views over the server's
// paged API. Trees are virtual: only the rows on screen exist in the DOM,
// and children are fetched a page at a time as they scroll into view.

const ROW = 20;
const PAGE = 200;
const $ = (selector) => document.querySelector(selector);
const fmt = (n) => Number(n).toLocaleString('en-US');
const pct = (n, total) => (total > 0 ? `${Math.round((n * 100) / total)} %` : '');

// Sizes as DevTools shows them (kB and MB of 1000), the exact bytes on hover.
function human(n) {
  const v = Number(n);
  if (Math.abs(v) < 1000) return `${fmt(v)} B`;
  const [unit, scale] = Math.abs(v) < 1e6 ? ['kB', 1e3] : Math.abs(v) < 1e9 ? ['MB', 1e6] : ['GB', 1e9];
  return `${(v / scale).toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: Math.abs(v / scale) < 10 ? 1 : 0 })} ${unit}`;
}
function size(n, signedText = false) {
  const text = signedText && n > 0 ? `+${human(n)}` : human(n);
  const span = el('span', 'size', text);
  span.title = `${signedText && n > 0 ? '+' : ''}${fmt(n)} bytes`;
  return span;
}

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
  constructor(data, depth, parent, count, index) {
    this.data = data;
    this.depth = depth;
    this.parent = parent;
    this.index = index; // among the parent's children
    this.count = count; // children, known before they are loaded
    this.items = [];
    this.kids = new Map(); // index -> TreeNode, for children that were expanded
    this.expanded = false;
    this.extra = 0; // rows of expanded descendants
  }
  get rows() {
    return this.expanded ? this.count + this.extra : 0;
  }
  // Every child is loaded: the list can be sorted in the page.
  get complete() {
    if (this.items.length < this.count) return false;
    for (let i = 0; i < this.count; i++) if (this.items[i] === undefined) return false;
    return true;
  }
}

let gridSerial = 0;

// A virtual tree grid with DevTools' manners: sortable, resizable columns,
// ARIA treegrid roles and keyboard navigation (arrows, Home/End, PageUp/
// PageDown, Enter), and a hint when it is empty.
class TreeGrid {
  // columns: [{ title, cell(data) -> Node|string, value(data) -> number,
  //   className, label }]; value is the exact number (sort key, data-value).
  // loader(data, offset, limit) -> Promise<{ total, offset, items }>; data null = top level
  constructor(container, columns, loader, options = {}) {
    this.container = container;
    this.columns = columns;
    this.loader = loader;
    this.onSelect = options.onSelect || (() => {});
    this.childCount = options.childCount || ((d) => d.children || 0);
    this.nameCell = options.nameCell;
    this.nameOf = options.nameOf || ((d) => d.name || d.className || d.text || '');
    this.empty = options.empty || 'Nothing to show.';
    this.pending = new Set();
    this.selected = null;
    this.cursor = -1; // the keyboard's row
    this.sort = null; // { column (-1 = name), descending }
    this.widths = options.widths || {};
    this.id = `grid${++gridSerial}`;
    container.replaceChildren();
    container.setAttribute('role', 'treegrid');
    container.setAttribute('aria-label', options.label || options.title || 'Constructor');
    const head = el('div', 'head');
    head.setAttribute('role', 'row');
    this.headCells = [this.headCell(options.title || 'Constructor', -1, 'name'),
      ...columns.map((c, i) => this.headCell(c.title, i, c.className || 'num', c.label))];
    head.append(...this.headCells);
    this.viewport = el('div', 'viewport');
    this.viewport.tabIndex = 0;
    this.spacer = el('div', 'spacer');
    this.hint = el('div', 'empty-hint');
    this.hint.hidden = true;
    this.viewport.append(this.spacer, this.hint);
    container.append(head, this.viewport);
    this.viewport.addEventListener('scroll', () => this.render());
    this.viewport.addEventListener('keydown', (e) => this.key(e));
    this.root = new TreeNode(null, -1, null, 0, 0);
    this.root.expanded = true;
    this.ready = this.fetch(this.root, 0).then(() => {
      this.hint.textContent = this.empty;
      this.hint.hidden = this.root.count > 0;
    });
  }

  headCell(title, column, className, label) {
    const cell = el('div', `cell ${className}`, title);
    cell.setAttribute('role', 'columnheader');
    if (label) cell.title = label;
    cell.classList.add('sortable');
    cell.addEventListener('click', (e) => {
      if (e.target.classList.contains('resizer')) return;
      this.sortBy(column);
    });
    if (column >= 0) {
      const key = this.columns[column].title || className;
      if (this.widths[key]) cell.style.width = `${this.widths[key]}px`;
      const handle = el('span', 'resizer');
      handle.title = 'Drag to resize';
      handle.addEventListener('mousedown', (e) => this.resize(e, column, cell));
      cell.append(handle);
    }
    return cell;
  }

  // Drags a column's right edge; every row's cell follows.
  resize(event, column, cell) {
    event.preventDefault();
    event.stopPropagation();
    const start = event.clientX;
    const width = cell.getBoundingClientRect().width;
    const key = this.columns[column].title || String(column);
    const move = (e) => {
      this.widths[key] = Math.max(40, width + e.clientX - start);
      cell.style.width = `${this.widths[key]}px`;
      this.render();
    };
    const up = () => {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
    };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  }

  // Sorts by `column` (again: the other way). Lists the page holds whole
  // are sorted here; the server's own order stays for the paged ones.
  sortBy(column) {
    const same = this.sort && this.sort.column === column;
    this.sort = { column, descending: same ? !this.sort.descending : column >= 0 };
    this.headCells.forEach((c, i) => {
      c.removeAttribute('aria-sort');
      if (i === column + 1) c.setAttribute('aria-sort', this.sort.descending ? 'descending' : 'ascending');
    });
    // Expanded rows are keyed by position: collapse, then reorder.
    this.root.kids.clear();
    this.root.extra = 0;
    this.cursor = -1;
    this.sortItems(this.root);
    this.render();
  }

  sortItems(node) {
    if (!this.sort || !node.complete) return;
    const { column, descending } = this.sort;
    const key = column < 0 ? (d) => String(this.nameOf(d)).toLowerCase()
      : (d) => { const c = this.columns[column]; return c.value ? c.value(d) : 0; };
    const dir = descending ? -1 : 1;
    node.items.sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
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
      if (node.kids.size === 0) this.sortItems(node);
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

  // The row at `r` below `node`: { parent, index }.
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

  // The row of child `index` of `parent` (the inverse of locate).
  rowOf(parent, index) {
    let r = index;
    for (const [i, kid] of parent.kids) if (i < index && kid.expanded) r += kid.rows;
    return parent === this.root ? r : this.rowOf(parent.parent, parent.index) + 1 + r;
  }

  toggle(parent, index, open) {
    const data = parent.items[index];
    if (!data || this.childCount(data) === 0) return Promise.resolve();
    let kid = parent.kids.get(index);
    if (!kid) {
      kid = new TreeNode(data, parent.depth + 1, parent, this.childCount(data), index);
      parent.kids.set(index, kid);
    }
    if (open !== undefined && kid.expanded === open) return Promise.resolve();
    kid.expanded = !kid.expanded;
    const delta = kid.expanded ? kid.count + kid.extra : -(kid.count + kid.extra);
    this.propagate(parent, delta);
    const fetched = kid.expanded && kid.items.length === 0 ? this.fetch(kid, 0) : Promise.resolve();
    this.render();
    return fetched;
  }

  // Selects row `r`: the keyboard's cursor, the selection and the view.
  select(r, announce = true) {
    const total = this.root.rows;
    if (total === 0) return;
    this.cursor = Math.max(0, Math.min(total - 1, r));
    const { parent, index } = this.locate(this.root, this.cursor);
    const data = parent.items[index];
    const top = this.cursor * ROW;
    const v = this.viewport;
    if (top < v.scrollTop) v.scrollTop = top;
    else if (top + ROW > v.scrollTop + v.clientHeight) v.scrollTop = top + ROW - v.clientHeight;
    if (data !== undefined) {
      this.selected = data;
      if (announce) {
        clearTimeout(this.selectTimer);
        this.selectTimer = setTimeout(() => this.onSelect(data), 120);
      }
    }
    this.render();
  }

  key(e) {
    const page = Math.max(1, Math.floor(this.viewport.clientHeight / ROW) - 1);
    const r = this.cursor;
    const here = r >= 0 ? this.locate(this.root, r) : null;
    const kid = here && here.parent.kids.get(here.index);
    const data = here && here.parent.items[here.index];
    switch (e.key) {
      case 'ArrowDown': this.select(r + 1); break;
      case 'ArrowUp': this.select(Math.max(0, r - 1)); break;
      case 'PageDown': this.select(r + page); break;
      case 'PageUp': this.select(Math.max(0, r - page)); break;
      case 'Home': this.select(0); break;
      case 'End': this.select(this.root.rows - 1); break;
      case 'ArrowRight':
        if (!data || !this.childCount(data)) break;
        if (kid && kid.expanded) this.select(r + 1);
        else this.toggle(here.parent, here.index, true);
        break;
      case 'ArrowLeft':
        if (kid && kid.expanded) this.toggle(here.parent, here.index, false);
        else if (here && here.parent !== this.root) this.select(this.rowOf(here.parent.parent, here.parent.index));
        break;
      case 'Enter':
        if (data) { this.selected = data; this.onSelect(data); this.render(); }
        break;
      default: return;
    }
    e.preventDefault();
  }

  render() {
    const total = this.root.rows;
    this.spacer.style.height = `${total * ROW}px`;
    this.container.setAttribute('aria-rowcount', total);
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
    if (this.cursor >= 0) this.viewport.setAttribute('aria-activedescendant', `${this.id}-${this.cursor}`);
  }

  renderRow(r, parent, index, data) {
    const row = el('div', 'row');
    row.id = `${this.id}-${r}`;
    row.setAttribute('role', 'row');
    row.setAttribute('aria-level', parent.depth + 2);
    row.setAttribute('aria-rowindex', r + 1);
    row.style.top = `${r * ROW}px`;
    const name = el('div', 'cell name');
    name.setAttribute('role', 'gridcell');
    name.style.paddingLeft = `${6 + (parent.depth + 1) * 14}px`;
    if (data === undefined) {
      name.append(el('span', 'pending', '…'));
      row.append(name);
      return row;
    }
    const kid = parent.kids.get(index);
    const open = kid && kid.expanded;
    const expandable = this.childCount(data) > 0;
    if (expandable) row.setAttribute('aria-expanded', open ? 'true' : 'false');
    const toggle = el('span', 'toggle', expandable ? (open ? '▾' : '▸') : '');
    toggle.addEventListener('click', (e) => { e.stopPropagation(); this.toggle(parent, index); });
    name.append(toggle, this.nameCell(data));
    row.append(name);
    for (const c of this.columns) {
      const cell = el('div', `cell ${c.className || 'num'}`);
      cell.setAttribute('role', 'gridcell');
      const width = this.widths[c.title || c.className];
      if (width) cell.style.width = `${width}px`;
      const shown = c.cell(data);
      if (shown instanceof Node) cell.append(shown);
      else cell.textContent = shown;
      if (c.value && shown instanceof Node) cell.dataset.value = c.value(data);
      row.append(cell);
    }
    if (data.id !== undefined) row.dataset.id = data.id;
    const selected = this.selected === data;
    row.setAttribute('aria-selected', selected ? 'true' : 'false');
    if (selected) row.classList.add('selected');
    if (r === this.cursor) row.classList.add('cursor');
    row.addEventListener('click', () => {
      this.cursor = r;
      this.selected = data;
      this.viewport.focus({ preventScroll: true });
      this.onSelect(data);
      this.render();
    });
    row.addEventListener('dblclick', () => this.toggle(parent, index));
    return row;
  }
}

// ---- state ----------------------------------------------------------------

const state = {
  snapshots: [],
  current: null, // index
  chosen: false, // the user (or a capture) picked the snapshot: no more defaults
  base: null,
  baseChosen: false,
  view: 'summary',
  overview: null,
  overviews: new Map(), // index -> overview, for the filters' id bounds
  only: '', // the Summary filter: '', 'ids:A:B', 'detached', 'handlers'
  ignored: new Set(),
  retainersOf: null,
  dismissed: new Set(), // failed loads the user closed
  search: null, // { q, total, at }
};

function status(text, error = false) {
  const s = $('#status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

const DISTANCE_NONE = 100000000;
const sizeColumns = () => [
  { title: 'Distance', value: (d) => d.distance, cell: (d) => (d.distance >= DISTANCE_NONE || d.distance < 0 ? '–' : fmt(d.distance)) },
  { title: 'Shallow Size', value: (d) => d.shallowSize, cell: (d) => size(d.shallowSize) },
  { title: 'Shallow %', className: 'pct', label: 'Shallow size, % of the heap', value: (d) => d.shallowSize, cell: (d) => pct(d.shallowSize, state.overview.rootRetainedSize) },
  { title: 'Retained Size', value: (d) => d.retainedSize, cell: (d) => size(d.retainedSize) },
  { title: 'Retained %', className: 'pct', label: 'Retained size, % of the heap', value: (d) => d.retainedSize, cell: (d) => pct(d.retainedSize, state.overview.rootRetainedSize) },
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
const onlyParam = () => (state.only ? `&only=${encodeURIComponent(state.only)}` : '');

// ---- views ----------------------------------------------------------------

const FILTER_HINTS = {
  '': 'No object in this snapshot.',
  detached: 'No object is kept alive only by detached DOM nodes.',
  handlers: 'No object is kept alive only by event listeners.',
};

function showSummary() {
  const filter = $('#class-filter').value;
  return new TreeGrid($('#grid'), [
    { title: 'Count', value: (d) => d.count ?? 0, cell: (d) => (d.count !== undefined ? fmt(d.count) : '') },
    ...sizeColumns(),
  ], async (data, offset, limit) => {
    if (data === null) {
      const classes = await api(`${base()}/classes?filter=${encodeURIComponent(filter)}${onlyParam()}`);
      $('#totals').textContent = `${fmt(classes.length)} classes, ${fmt(classes.reduce((n, c) => n + c.count, 0))} objects`;
      return { total: classes.length, offset: 0, items: classes };
    }
    if (data.key !== undefined) {
      return api(`${base()}/instances?key=${encodeURIComponent(data.key)}&offset=${offset}&limit=${limit}${onlyParam()}`);
    }
    return api(`${base()}/fields/${data.id}?offset=${offset}&limit=${limit}`);
  }, {
    childCount: (d) => (d.key !== undefined ? d.count : d.children),
    nameCell: (d) => (d.key !== undefined ? el('span', 'class', d.name) : objectName(d)),
    onSelect: selectObject,
    empty: filter ? `No class matches “${filter}”${state.only ? ' under this filter' : ''}.`
      : state.only.startsWith('ids:') ? 'No object was allocated in that range.' : FILTER_HINTS[state.only] || FILTER_HINTS[''],
    label: 'Summary',
  });
}

function showContainment() {
  return new TreeGrid($('#grid'), sizeColumns(), (data, offset, limit) =>
    api(`${base()}/fields/${data ? data.id : state.overview.rootId}?offset=${offset}&limit=${limit}`), {
    title: 'Object',
    nameCell: objectName,
    onSelect: selectObject,
    label: 'Containment',
  });
}

function showDominators() {
  return new TreeGrid($('#grid'), sizeColumns(), (data, offset, limit) =>
    api(`${base()}/dominated/${data ? data.id : state.overview.rootId}?offset=${offset}&limit=${limit}`), {
    title: 'Object',
    nameCell: objectName,
    onSelect: selectObject,
    label: 'Dominators',
  });
}

// The Comparison's base by default: the snapshot given just before the
// current one (the order of the command line, whatever loaded first).
function defaultBase(others) {
  return (others.filter((s) => s.index < state.current).pop() || others[0]).index;
}

function showComparison() {
  const others = state.snapshots.filter((s) => s.state === 'ready' && s.kind === 'snapshot' && s.index !== state.current);
  const select = $('#base');
  select.replaceChildren(...others.map((s) => new Option(s.name, s.index)));
  if (others.length === 0) {
    $('#grid').replaceChildren(el('p', 'empty-hint', 'Load a second snapshot of the same process to compare.'));
    return null;
  }
  if (!state.baseChosen || !others.some((s) => s.index === state.base)) state.base = defaultBase(others);
  select.value = state.base;
  const filter = $('#class-filter').value.toLowerCase();
  const member = (d) => d.key === undefined;
  return new TreeGrid($('#grid'), [
    // Objects under a class show their own size as allocated or freed.
    { title: '# New', value: (d) => d.addedCount, cell: (d) => (member(d) ? '' : fmt(d.addedCount)) },
    { title: '# Deleted', value: (d) => d.removedCount, cell: (d) => (member(d) ? '' : fmt(d.removedCount)) },
    { title: '# Delta', value: (d) => d.countDelta, cell: (d) => (member(d) ? '' : signed(d.countDelta)) },
    { title: 'Alloc. Size', value: (d) => (member(d) ? d.shallowSize : d.addedSize), cell: (d) => (!member(d) ? size(d.addedSize) : d.deleted === false ? size(d.shallowSize) : '') },
    { title: 'Freed Size', value: (d) => (member(d) ? d.shallowSize : d.removedSize), cell: (d) => (!member(d) ? size(d.removedSize) : d.deleted ? size(d.shallowSize) : '') },
    { title: 'Size Delta', value: (d) => d.sizeDelta, cell: (d) => (member(d) ? '' : size(d.sizeDelta, true)) },
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
    empty: 'No class changed between the two snapshots.',
    label: 'Comparison',
  });
}

const signed = (n) => (n > 0 ? `+${fmt(n)}` : fmt(n));

// Duplicated strings; each expands to the objects holding its copies.
function showStrings() {
  return new TreeGrid($('#grid'), [
    { title: 'Count', value: (d) => d.count ?? 0, cell: (d) => (d.text !== undefined ? fmt(d.count) : '') },
    { title: 'Total Size', value: (d) => d.totalSize ?? d.shallowSize, cell: (d) => (d.text !== undefined ? size(d.totalSize) : size(d.shallowSize)) },
    { title: 'Wasted', value: (d) => d.wastedSize ?? 0, cell: (d) => (d.text !== undefined ? size(d.wastedSize) : '') },
  ], async (data, offset, limit) => {
    if (data === null) {
      const page = await api(`${base()}/strings?offset=${offset}&limit=${limit}`);
      page.items.forEach((item, i) => { item.group = page.offset + i; });
      $('#totals').textContent = `${fmt(page.total)} duplicated strings`;
      return page;
    }
    if (data.group !== undefined) return api(`${base()}/strings/${data.group}/holders?offset=${offset}&limit=${limit}`);
    return api(`${base()}/fields/${data.id}?offset=${offset}&limit=${limit}`);
  }, {
    title: 'String',
    childCount: (d) => (d.group !== undefined ? d.count : d.children),
    nameCell: (d) => (d.group !== undefined ? el('span', '', `"${d.text.slice(0, 300)}"`) : objectName(d)),
    nameOf: (d) => d.text ?? d.name,
    onSelect: (d) => { if (d.id !== undefined) selectObject(d); },
    empty: 'No string occurs twice.',
    label: 'Duplicated strings',
  });
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
  const svg = svgEl('svg', { width: 600, height: 40, id: 'statistics-chart', role: 'img', 'aria-label': 'Heap by kind' });
  let x = 0;
  for (const [name, value, color] of parts) {
    const w = s.total > 0 ? (value * 600) / s.total : 0;
    const rect = svgEl('rect', { x, y: 0, width: Math.max(0, w), height: 40, fill: color });
    const title = svgEl('title', {});
    title.textContent = `${name}: ${fmt(value)} bytes`;
    rect.append(title);
    svg.append(rect);
    x += w;
  }
  const table = el('table');
  table.id = 'statistics-table';
  const head = el('tr');
  head.append(el('th', '', 'Kind'), el('th', 'num', 'Size'), el('th', 'num', 'Bytes'), el('th', 'num', '% of total'));
  table.append(head);
  for (const [name, value, color] of [...parts, ['Total', s.total]]) {
    const tr = el('tr');
    const label = el('td');
    if (color) {
      const swatch = el('span', 'swatch');
      swatch.style.background = color;
      label.append(swatch);
    }
    label.append(name);
    tr.append(label, el('td', 'num', human(value)), el('td', 'num', fmt(value)), el('td', 'num', pct(value, s.total)));
    table.append(tr);
  }
  box.replaceChildren(svg, table);
  $('#totals').textContent = `${human(s.total)} in all`;
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
    { title: 'Count', value: (d) => d.count, cell: (d) => fmt(d.count) },
    { title: 'Shallow Size', value: (d) => d.shallow_size, cell: (d) => size(d.shallow_size) },
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
  state.chosen = true;
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
    el('div', 'muted', `${String(h.target).includes(`PID ${h.pid}`) ? h.target : `${h.target}, PID ${h.pid}`}, ${driven(h)}: ${h.rounds.length} rounds in ${h.seconds.toFixed(1)} s`)];
  for (const t of h.threads || []) {
    parts.push(el('div', 'muted', `Heap of ${t.thread} after GC: ${t.heap_used.map(mb).join(' → ')}${t.judged ? '' : ' (not judged)'}`));
  }
  if (h.stopped_by) parts.push(el('div', 'error', `Stopped by ${h.stopped_by}`));
  for (const w of h.warnings) parts.push(el('div', 'error', `Warning: ${w}`));
  if (last === undefined) {
    const kept = h.snapshots || [];
    parts.push(el('div', 'muted', kept.length
      ? `The hunt kept ${kept.length} snapshots (${kept.map((p) => p.split(/[\\/]/).pop()).join(', ')}), but they are not loaded here: a report sent from the page never opens paths. Add those files too (or run leakscope serve on the report) and its paths become links.`
      : 'The snapshots were not kept (leakscope hunt --keep keeps them): paths are not links.'));
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

function clearRetainers() {
  state.retainersOf = null;
  $('#retainers-of').textContent = '';
  $('#retainers-of').title = '';
  $('#paths').replaceChildren();
  $('#retainers').replaceChildren(el('div', 'empty-hint', 'Select an object to see what keeps it alive.'));
}

// Shows the retainers of object `d` of snapshot `snapshot` (the current
// one unless it is a deleted object of a Comparison's base).
function selectObject(d, snapshot = state.current) {
  if (d.id === undefined) return;
  state.retainersOf = d;
  state.retainersIn = snapshot;
  const where = snapshot === state.current ? '' : ` in ${state.snapshots[snapshot].name}`;
  const label = `of ${d.name || d.className} @${d.id}${where}`;
  $('#retainers-of').textContent = label;
  $('#retainers-of').title = label;
  showRetainers();
  showPaths(d.id, snapshot);
}

// Several retaining paths, each through another direct retainer: what
// holds the object, at a glance, before the tree below is expanded.
async function showPaths(id, snapshot) {
  const box = $('#paths');
  box.replaceChildren();
  box.dataset.ready = '';
  let paths;
  try {
    paths = await api(`/api/s/${snapshot}/paths/${id}`);
  } catch (error) {
    return;
  }
  if (state.retainersOf === null || state.retainersOf.id !== id) return;
  box.replaceChildren(...paths.map((path, i) => {
    const line = el('div', 'retaining-path');
    line.append(el('span', 'muted', `${i + 1}. `), el('span', 'id', `@${id}`));
    for (const step of path) {
      const link = el('span', 'step', `${step.name || step.className} @${step.id}`);
      link.title = 'Show its retainers';
      link.addEventListener('click', () => selectObject(step, snapshot));
      line.append(' ← ', el('span', 'edge', step.edge), ' ', link);
    }
    if (path.length && path[path.length - 1].distance >= DISTANCE_NONE) line.append(el('span', 'muted', ' (not reachable from a GC root)'));
    return line;
  }));
  if (!paths.length) box.append(el('div', 'empty-hint', 'Nothing holds this object: the root, or garbage.'));
  box.dataset.ready = String(paths.length);
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
    label: 'Retainers',
    empty: 'Nothing retains this object.',
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
    if (!first || first.distance <= 1 || first.distance >= DISTANCE_NONE || seen.has(first.id) || !first.children) return;
    seen.add(first.id);
    await grid.toggle(node, 0);
    node = node.kids.get(0);
  }
}

// The draggable line between the view and the Retainers pane (mouse, or
// arrow keys once focused).
function splitter() {
  const bar = $('#splitter');
  const pane = $('#retainers-pane');
  const set = (px) => {
    const max = $('main').getBoundingClientRect().height - 80;
    const h = Math.max(60, Math.min(max, px));
    pane.style.flex = `0 0 ${h}px`;
    bar.setAttribute('aria-valuenow', Math.round(h));
  };
  bar.addEventListener('mousedown', (e) => {
    e.preventDefault();
    const start = e.clientY;
    const height = pane.getBoundingClientRect().height;
    const move = (m) => set(height - (m.clientY - start));
    const up = () => { document.removeEventListener('mousemove', move); document.removeEventListener('mouseup', up); };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  });
  bar.addEventListener('keydown', (e) => {
    const height = pane.getBoundingClientRect().height;
    if (e.key === 'ArrowUp') set(height + 20);
    else if (e.key === 'ArrowDown') set(height - 20);
    else return;
    e.preventDefault();
  });
}

// ---- search -----------------------------------------------------------------

// Every match of a search (an @id, or text in strings), paged, with
// previous / next and "reveal in Summary".
async function search(q) {
  const first = await api(`${base()}/search?q=${encodeURIComponent(q)}&offset=0&limit=1`);
  state.search = { q, total: first.total, at: 0, snapshot: state.current };
  const bar = $('#search-results');
  bar.hidden = false;
  if (!first.total) {
    $('#search-count').textContent = `No match for ${q}`;
    $('#matches').replaceChildren();
    bar.dataset.total = '0';
    return;
  }
  bar.dataset.total = String(first.total);
  const matches = new TreeGrid($('#matches'), [
    { title: 'Retained Size', value: (d) => d.retainedSize, cell: (d) => size(d.retainedSize) },
  ], (data, offset, limit) => api(`/api/s/${state.search.snapshot}/search?q=${encodeURIComponent(q)}&offset=${offset}&limit=${limit}`), {
    title: 'Match',
    label: 'Search matches',
    childCount: () => 0,
    nameCell: objectName,
    onSelect: (d) => {
      const at = matches.root.items.indexOf(d);
      if (at >= 0) goToMatch(at, false);
    },
  });
  state.search.grid = matches;
  await matches.ready;
  goToMatch(0);
}

async function goToMatch(at, moveGrid = true) {
  const s = state.search;
  if (!s || !s.total) return;
  s.at = (at + s.total) % s.total;
  $('#search-count').textContent = `Match ${fmt(s.at + 1)} of ${fmt(s.total)} for ${s.q}`;
  $('#search-results').dataset.at = String(s.at);
  if (moveGrid) s.grid.select(s.at, false);
  let match = s.grid.root.items[s.at];
  if (match === undefined) match = (await api(`/api/s/${s.snapshot}/search?q=${encodeURIComponent(s.q)}&offset=${s.at}&limit=1`)).items[0];
  if (match) selectObject(match, s.snapshot);
}

// Opens the Summary (unfiltered) at object `id`: its class expanded, the
// object scrolled to and selected.
async function reveal(id, snapshot = state.current) {
  const place = await api(`/api/s/${snapshot}/locate/${id}`).catch(() => null);
  if (!place) { status(`@${id} is not counted in the Summary (no size of its own)`); return; }
  state.current = snapshot;
  state.only = '';
  $('#only').value = '';
  $('#class-filter').value = '';
  state.view = 'summary';
  await show({ keepRetainers: true });
  const g = grid;
  await g.toggle(g.root, place.classRow, true);
  const kid = g.root.kids.get(place.classRow);
  await g.fetch(kid, Math.floor(place.index / PAGE));
  const r = g.rowOf(kid, place.index);
  g.viewport.scrollTop = Math.max(0, r * ROW - g.viewport.clientHeight / 2);
  g.select(r, false);
  $('#grid').dataset.revealed = String(id);
  status(`@${id}: row ${fmt(place.index + 1)} of its class in the Summary`);
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
    const response = await fetch('/api/live', authorized());
    if (response.status === 204) return; // not attached to a target
    const live = await response.json();
    if (!response.ok) throw new Error(live.error || response.statusText);
    $('#live').hidden = false;
    $('#live-pid').textContent = live.pid;
    $('#live-activity').textContent = live.activity || '';
    drawHeap(live.heap, live.gcs);
    setTimeout(pollLive, 1000);
  } catch (error) {
    // Live but gone: say so once.
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
    if (result.index !== undefined) follow(result.index);
  } catch (error) {
    $('#live-result').textContent = `${label} failed: ${error.message}`;
  } finally {
    live.querySelectorAll('button').forEach((b) => { b.disabled = false; });
  }
}

// Shows snapshot `index` as soon as it is ready (a capture, an upload).
function follow(index) {
  state.follow = index;
  state.chosen = true;
  poll();
}

// ---- wiring ---------------------------------------------------------------

let grid = null;
const ALL_VIEWS = ['summary', 'comparison', 'containment', 'dominators', 'statistics', 'strings', 'timeline', 'flame', 'hunt'];

async function show(options = {}) {
  $('#totals').textContent = '';
  if (!options.keepRetainers) clearRetainers();
  if (state.current === null) return;
  const snap = state.snapshots[state.current];
  const { kind } = snap;
  status('Loading the view…');
  $('body').dataset.viewReady = '';
  try {
    state.overview = kind === 'snapshot' ? await api(`${base()}/overview`) : null;
    if (state.overview) state.overviews.set(state.current, state.overview);
    // A profile shows only its flame graph, a hunt only its report, a
    // snapshot every Memory view (and its timeline if it was recorded).
    const only = { profile: 'flame', hunt: 'hunt' }[kind];
    const offered = only ? [only] : ALL_VIEWS.filter((v) => !['flame', 'hunt'].includes(v) && (v !== 'timeline' || state.overview.hasTimeline));
    // A recording just made opens on its timeline, as DevTools does.
    if (options.fresh && state.overview && state.overview.hasTimeline) state.view = 'timeline';
    if (!offered.includes(state.view)) state.view = offered[0];
    const view = state.view;
    // Every pane's visibility from the view actually shown.
    document.querySelectorAll('#views button').forEach((b) => {
      b.hidden = !offered.includes(b.dataset.view);
      b.classList.toggle('active', b.dataset.view === view);
      b.setAttribute('aria-pressed', b.dataset.view === view ? 'true' : 'false');
    });
    $('#timeline').hidden = view !== 'timeline';
    $('#flame').hidden = view !== 'flame';
    $('#hunt').hidden = view !== 'hunt';
    $('#statistics').hidden = view !== 'statistics';
    $('#grid').hidden = ['statistics', 'flame', 'hunt'].includes(view);
    $('#retainers-pane').hidden = !!only;
    $('#splitter').hidden = !!only;
    $('#toolbar').hidden = !!only;
    $('#class-filter').hidden = !['summary', 'comparison'].includes(view);
    $('#base-label').hidden = view !== 'comparison';
    $('#only-label').hidden = view !== 'summary';
    if (view === 'summary') renderFilters();
    $('body').dataset.view = view;
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
    const shown = await views[view]();
    if (shown instanceof TreeGrid) {
      grid = shown;
      await grid.ready;
    }
    status({ profile: `${snap.name}: sampling heap profile`, hunt: `${snap.name}: hunt report` }[kind]
      || `${snap.name}: ${fmt(state.overview.nodeCount)} nodes, ${human(state.overview.rootRetainedSize)} retained from the root`);
    $('body').dataset.viewReady = view;
  } catch (error) {
    status(`error: ${error.message}`, true);
  }
}

// The Summary's filters, as DevTools offers them on a snapshot: objects
// allocated before each earlier snapshot and between each two up to this
// one (by id: V8's ids only grow, so the snapshots go in the order they
// were taken, whatever order they were given in), and objects kept alive
// only by detached DOM nodes or by event listeners.
function renderFilters() {
  const select = $('#only');
  const snapshots = state.snapshots.filter((s) => s.state === 'ready' && s.kind === 'snapshot');
  snapshots.forEach((s) => { if (!state.overviews.has(s.index)) loadOverview(s.index); });
  const own = state.overview ? state.overview.maxJsId : 0;
  const taken = snapshots
    .map((s) => ({ ...s, max: state.overviews.get(s.index)?.maxJsId }))
    .filter((s) => s.max !== undefined && s.max <= own)
    .sort((a, b) => a.max - b.max);
  const options = [new Option('All objects', '')];
  taken.forEach((s, i) => {
    if (s.index !== state.current) options.push(new Option(`Objects allocated before ${s.name}`, `ids:0:${s.max}`));
    if (i > 0) options.push(new Option(`Objects allocated between ${taken[i - 1].name} and ${s.name}`, `ids:${taken[i - 1].max}:${s.max}`));
  });
  options.push(new Option('Objects retained by detached DOM nodes', 'detached'));
  options.push(new Option('Objects retained by event handlers', 'handlers'));
  select.replaceChildren(...options);
  if (![...select.options].some((o) => o.value === state.only)) state.only = '';
  select.value = state.only;
}

async function loadOverview(index) {
  if (state.overviews.has(index)) return;
  state.overviews.set(index, undefined);
  try {
    state.overviews.set(index, await api(`/api/s/${index}/overview`));
    if (state.view === 'summary') renderFilters();
  } catch (error) {
    state.overviews.delete(index);
  }
}

// The snapshot list, as DevTools' sidebar: every file in the order given,
// loading ones with their progress, failed ones with why (and ×).
function renderSnapshotList() {
  const list = $('#snapshot-list');
  const suffix = { profile: 'profile', hunt: 'hunt report', snapshot: '' };
  const items = state.snapshots.filter((s) => !state.dismissed.has(s.index)).map((s) => {
    const li = el('li', `snapshot ${s.state}`);
    li.dataset.index = s.index;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', s.index === state.current ? 'true' : 'false');
    const name = el('span', 'name', s.name);
    name.title = s.name;
    li.append(name);
    if (s.state === 'ready') {
      li.tabIndex = 0;
      li.append(el('span', 'detail', suffix[s.kind] || human(s.size)));
      li.addEventListener('click', () => choose(s.index));
      li.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); choose(s.index); } });
    } else if (s.state === 'loading') {
      const bar = el('progress');
      bar.max = s.size || 1;
      bar.value = s.bytesRead;
      li.append(bar, el('span', 'detail', s.step || `${human(s.bytesRead)} of ${human(s.size)} read`));
    } else {
      li.append(el('span', 'detail error', s.error));
      const close = el('button', 'dismiss', '×');
      close.title = 'Dismiss';
      close.setAttribute('aria-label', `Dismiss ${s.name}`);
      close.addEventListener('click', () => { state.dismissed.add(s.index); renderSnapshotList(); });
      li.append(close);
    }
    return li;
  });
  list.replaceChildren(...items);
  if (!items.length) list.append(el('li', 'empty-hint', 'No snapshot yet: add one.'));
}

function choose(index) {
  state.current = index;
  state.chosen = true;
  state.baseChosen = false;
  state.ignored.clear();
  renderSnapshotList();
  show();
}

// Which snapshot to open without being told: a hunt report (it leads into
// its snapshots), else the last file given once it is ready — whatever
// finished loading first — so the default Comparison runs forwards.
function defaultSnapshot() {
  const ready = state.snapshots.filter((s) => s.state === 'ready');
  const hunt = ready.find((s) => s.kind === 'hunt');
  if (hunt) return hunt.index;
  const candidates = state.snapshots.filter((s) => s.state !== 'failed');
  const last = candidates[candidates.length - 1];
  if (last && last.state === 'ready') return last.index;
  if (!candidates.length && ready.length) return ready[ready.length - 1].index;
  return null;
}

async function poll() {
  clearTimeout(state.pollTimer);
  try {
    const before = state.snapshots.filter((s) => s.state === 'ready').length;
    state.snapshots = await api('/api/snapshots');
    const ready = state.snapshots.filter((s) => s.state === 'ready');
    const loading = state.snapshots.some((s) => s.state === 'loading');
    $('#status').dataset.ready = loading ? '' : 'all';
    const followed = state.follow !== undefined && state.snapshots[state.follow];
    if (followed && followed.state !== 'loading') {
      // A capture or upload finished: show it (or why it failed).
      state.follow = undefined;
      if (followed.state === 'ready') {
        state.current = followed.index;
        state.baseChosen = false;
        show({ fresh: true });
      } else {
        status(`${followed.name}: ${followed.error}`, true);
      }
    } else if (!state.chosen) {
      const pick = defaultSnapshot();
      if (pick !== null && pick !== state.current) {
        state.current = pick;
        show();
      }
      if (pick !== null && state.snapshots.every((s) => s.state !== 'loading')) state.chosen = true;
    } else if (ready.length !== before && ['comparison', 'summary'].includes(state.view) && !followed) {
      if (state.view === 'summary') renderFilters();
      else show({ keepRetainers: true });
    }
    renderSnapshotList();
    if (state.current === null) status(loading ? 'Analysing…' : 'No snapshot loaded: add one.');
    if (loading || state.follow !== undefined) state.pollTimer = setTimeout(poll, 300);
  } catch (error) {
    status(`error: ${error.message}`, true);
    state.pollTimer = setTimeout(poll, 2000);
  }
}

// Sends a file (its bytes; the server never reads a path the page names),
// with its progress in the footer; the new snapshot is shown when ready.
function upload(file) {
  const request = new XMLHttpRequest();
  request.open('POST', `/api/upload?name=${encodeURIComponent(file.name)}`);
  request.setRequestHeader('X-Leakscope-Token', TOKEN);
  request.responseType = 'json';
  request.upload.onprogress = (e) => {
    if (e.lengthComputable) status(`uploading ${file.name}: ${Math.round((e.loaded * 100) / e.total)} % of ${human(e.total)}`);
  };
  request.onload = () => {
    const body = request.response || {};
    if (request.status !== 200 || body.index === undefined) {
      status(`upload of ${file.name} failed: ${body.error || request.statusText || request.status}`, true);
      return;
    }
    status(`uploaded ${file.name}: analysing it`);
    follow(body.index);
  };
  request.onerror = () => status(`upload of ${file.name} failed: the connection was lost`, true);
  status(`uploading ${file.name}…`);
  request.send(file);
}

document.addEventListener('DOMContentLoaded', () => {
  clearRetainers();
  splitter();
  document.querySelectorAll('#views button').forEach((b) => b.addEventListener('click', () => {
    state.view = b.dataset.view;
    show();
  }));
  $('#base').addEventListener('change', (e) => { state.base = Number(e.target.value); state.baseChosen = true; show(); });
  $('#only').addEventListener('change', (e) => { state.only = e.target.value; show(); });
  let filterTimer = null;
  $('#class-filter').addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(show, 200);
  });
  $('#search-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = $('#search').value.trim();
    if (!q || state.current === null) return;
    try {
      await search(q);
    } catch (error) {
      status(`error: ${error.message}`, true);
    }
  });
  $('#match-prev').addEventListener('click', () => state.search && goToMatch(state.search.at - 1));
  $('#match-next').addEventListener('click', () => state.search && goToMatch(state.search.at + 1));
  $('#match-reveal').addEventListener('click', () => state.retainersOf && reveal(state.retainersOf.id, state.retainersIn));
  $('#match-close').addEventListener('click', () => { $('#search-results').hidden = true; state.search = null; });
  $('#upload').addEventListener('change', (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (file) upload(file);
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
