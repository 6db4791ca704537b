// Every panel (tile, chart, table) shows one of four states, so a reader never takes a placeholder for a number:
// loading (with the seconds waited, so a slow query reads as progress, not a frozen page), empty ("No data yet" on
// a first run, "none in this range" otherwise), ready, or error with the reason.
import { cellChange } from './compare.js';

const timers = new Map();

function stateLine(panel) {
  let el = panel.querySelector(':scope > .panel-state');
  if (!el) {
    el = document.createElement('div');
    el.className = 'panel-state';
    el.setAttribute('role', 'status');
    const heading = panel.querySelector(':scope > h2, :scope > .panel-head');
    if (heading) heading.after(el);
    else panel.prepend(el);
  }
  return el;
}

export function panel(name) {
  return document.querySelector(`[data-panel="${name}"]`);
}

function stopTimer(p) {
  window.clearInterval(timers.get(p));
  timers.delete(p);
}

export function setLoading(p) {
  stopTimer(p);
  const line = stateLine(p);
  const started = Date.now();
  p.dataset.state = 'loading';
  p.setAttribute('aria-busy', 'true');
  // Shown from the first second on: a quick refresh (the live view's, every 30 s) does not flash a line per panel.
  line.textContent = '';
  const show = () => {
    const s = Math.floor((Date.now() - started) / 1000);
    line.innerHTML = `<span class="progress" aria-hidden="true"></span><span class="progress-text">Loading… ${s} s</span>`;
  };
  timers.set(p, window.setInterval(show, 1000));
}

export function setEmpty(p, message) {
  stopTimer(p);
  p.dataset.state = 'empty';
  p.removeAttribute('aria-busy');
  stateLine(p).textContent = message;
}

export function setReady(p) {
  stopTimer(p);
  p.dataset.state = 'ready';
  p.removeAttribute('aria-busy');
  stateLine(p).textContent = '';
}

export function setError(p, message) {
  stopTimer(p);
  p.dataset.state = 'error';
  p.removeAttribute('aria-busy');
  stateLine(p).textContent = `Could not load: ${message}`;
}

function drillLink(td, url) {
  const a = document.createElement('a');
  a.href = url;
  a.dataset.drill = 'true';
  a.textContent = td.textContent;
  td.replaceChildren(a);
}

function cell(value, cls) {
  const td = document.createElement('td');
  td.textContent = value;
  if (cls) td.className = cls;
  return td;
}

/**
 * Rows as table cells, one column spec `{ key, format, cls?, better?, drill? }` per header cell. With `previous` (the
 * previous period's rows, matched on the first column), a column with `better` ('up' or 'down') shows its change.
 * A column with `drill(row)` (the view to open: a patch of the state) links there through `href(patch)`.
 */
export function fillTable(p, rows, columns, previous, href) {
  const body = p.querySelector('tbody');
  const key = columns[0].key;
  const before = previous ? new Map(previous.map((r) => [r[key], r])) : null;
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      for (const c of columns) {
        const td = cell(c.format(row[c.key], row), c.cls ? c.cls(row) : '');
        if (c.drill && href) drillLink(td, href(c.drill(row)));
        if (before && c.better) cellChange(td, row[c.key], before.get(row[key])?.[c.key], c.key.endsWith('_pct') ? 'pct' : 'count', c.better);
        tr.append(td);
      }
      return tr;
    }),
  );
}
