// Actionpulse dashboard: every number comes from a JSON route that runs one SQL file of dashboards/sql, asked with
// the page's own URL query (view-state.js). Plain ES modules (no build step); uPlot is served from ./vendor.
import { utc } from './format.js';
import { inputInstant, inputValue, readState, sameState, stateQuery } from './view-state.js';
import { lineChart, weeklyBars } from './charts.js';
import { fillTable, panel, setEmpty, setError, setLoading, setReady } from './panels.js';
import { METRIC_TABLES, weekRange } from './metric-tables.js';
import { markReasonScope, showChips } from './filter-chips.js';
import { showFailureRate, showOverview, showThresholds } from './tiles.js';
import { loadErrorBudget } from './error-budget.js';
import { loadHealth } from './health.js';

const form = document.getElementById('filters');
const statusLine = document.getElementById('status');
let state = readState(window.location.search);
let firstRun = false;
let lastRange = null;
let controller = null;
const listeners = [];

/** Called after each refresh with the range the API answered for (live.js schedules the next one from it). */
export function onRefreshed(fn) {
  listeners.push(fn);
}

async function get(path, signal) {
  const res = await fetch(`${path}?${stateQuery(state)}`, { signal });
  const body = await res.json();
  if (!res.ok) throw new Error(body.detail || body.error || res.statusText);
  return body;
}

/** Runs the load of one panel (or of several fed by one route); they show the error, the caller learns it failed. */
async function load(names, signal, task) {
  const panels = [names].flat().map(panel);
  for (const p of panels) setLoading(p);
  try {
    return await task(panels[0]);
  } catch (err) {
    if (err.name !== 'AbortError') for (const p of panels) setError(p, err.message);
    throw err;
  }
}

function syncControls(range) {
  for (const b of form.querySelectorAll('[data-range]')) b.setAttribute('aria-pressed', String(b.dataset.range === state.range));
  const custom = document.getElementById('custom-range');
  // While the reader edits a custom range, a refresh leaves the inputs alone.
  if (custom.dataset.open) return;
  custom.hidden = state.range !== 'custom';
  if (state.range === 'custom') {
    form.elements.from.value = inputValue(state.from);
    form.elements.to.value = inputValue(state.to);
  } else if (range) {
    form.elements.from.value = inputValue(range.from);
    form.elements.to.value = inputValue(range.to);
  }
}

function syncFilters() {
  form.elements.organization_id.value = state.organization_id;
  form.elements.node_type.value = state.node_type;
  form.elements.compare.checked = state.compare === 'previous';
}

/** Each table's and series' CSV: its metric route with the page's query, so the file holds what the panel shows. */
function setDownloads() {
  for (const a of document.querySelectorAll('a[data-download]')) a.href = `/api/metrics/${a.dataset.download}?${stateQuery(state)}&format=csv`;
}

/** When the page is filtered to an action or an organization, a link to the page that explains it, same range. */
function showFocusLinks() {
  const links = [];
  const query = (patch) => stateQuery({ ...state, ...patch, compare: '' });
  if (state.node_type) links.push([`action.html?${query({})}`, `Open the page of ${state.node_type}`, 'action-page']);
  if (state.organization_id) links.push([`organization.html?${query({ node_type: '' })}`, `Open the page of ${state.organization_id}`, 'organization-page']);
  const el = document.getElementById('focus-links');
  el.replaceChildren(...links.map(([href, text, id]) => {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    a.dataset.testid = id;
    return a;
  }));
  el.hidden = links.length === 0;
}

function showRange(range) {
  const asOf = document.getElementById('as-of');
  asOf.textContent = `${utc(range.from)} – ${utc(range.to)}${range.live ? ` · as of ${utc(range.to)}` : ''}`;
  asOf.dataset.from = range.from;
  asOf.dataset.to = range.to;
}

function xRange(range) {
  return [Date.parse(range.from) / 1000, Date.parse(range.to) / 1000];
}

async function refresh() {
  controller?.abort();
  controller = new window.AbortController();
  const { signal } = controller;
  document.body.dataset.loaded = 'false';
  statusLine.textContent = 'Loading…';
  setDownloads();
  showFocusLinks();
  showChips(document.getElementById('filter-chips'), state, (key) => `?${stateQuery({ ...state, [key]: '' })}`);
  const empty = (message) => (firstRun ? 'No data yet.' : message);
  // Annotations are an overlay: when they cannot load, the charts still draw, without them.
  const annotations = get('/api/annotations', signal).then((a) => a.annotations, () => []);
  const overview = load(['volume', 'adoption', 'success', 'token', 'blocked'], signal, async () => {
    const o = await get('/api/overview', signal);
    showThresholds(o.thresholds);
    showOverview(o, firstRun, (weekStart) => `?${stateQuery({ ...state, ...weekRange(weekStart) })}`);
    showRange(o.range);
    for (const name of ['volume', 'adoption', 'success', 'token', 'blocked']) markReasonScope(panel(name), state.reason, o.range.reason);
    return o;
  });
  const weekly = load('execution-volume-weekly', signal, async (p) => {
    const o = await overview;
    const weeks = o.execution_volume_weekly;
    markReasonScope(p, state.reason, o.range.reason);
    if (weeks.length === 0) return setEmpty(p, empty('No execution in this range.'));
    // A click on a week's bar opens that week (as the week in the volume tile does).
    weeklyBars('chart-weekly', 'Executed', weeks.map((w) => w.week_start), weeks.map((w) => w.executed), '#1570ef', await annotations, (week) => navigate({ ...state, ...weekRange(week) }));
    setReady(p);
  });
  const series = load('actions-timeseries', signal, async (p) => {
    const { range, rows } = await get('/api/metrics/actions-timeseries', signal);
    markReasonScope(p, state.reason, range.reason);
    if (rows.every((r) => r.executed + r.failed + r.blocked === 0)) return setEmpty(p, empty(range.reason ? `No call failed with ${range.reason} in this range.` : 'No completed or blocked call in this range.'));
    lineChart('chart-timeseries', [
      { label: 'Executed', stroke: '#1b7f3b', width: 2 },
      { label: 'Failed', stroke: '#b42318', width: 2 },
      { label: 'Blocked', stroke: '#667085', width: 1 },
    ], [rows.map((r) => r.t), rows.map((r) => r.executed), rows.map((r) => r.failed), rows.map((r) => r.blocked)], xRange(range), await annotations);
    setReady(p);
  });
  const tables = METRIC_TABLES.map((t) => load(t.metric === 'failure-rate-1h' ? [t.metric, 'failure-rate'] : t.metric, signal, async (p) => {
    const [{ range, rows, previous }, o] = await Promise.all([get(`/api/metrics/${t.metric}`, signal), t.metric === 'failure-rate-1h' ? overview : null]);
    if (t.metric === 'failure-rate-1h') {
      showFailureRate(rows, o.thresholds, firstRun, previous?.rows);
      markReasonScope(panel('failure-rate'), state.reason, range.reason);
    }
    markReasonScope(p, state.reason, range.reason);
    lastRange = range;
    if (rows.length === 0) return setEmpty(p, empty(range.reason ? `No call failed with ${range.reason} in this range.` : t.empty));
    fillTable(p, rows, t.columns, previous?.rows, (patch) => `?${stateQuery({ ...state, ...patch })}`);
    setReady(p);
  }));
  // The error budget is the alert evaluator's, over every call.
  markReasonScope(panel('error-budget'), state.reason, '');
  const results = await Promise.allSettled([overview, weekly, series, ...tables, loadErrorBudget(signal, firstRun), loadHealth(signal)]);
  if (signal.aborted) return;
  const failed = results.filter((r) => r.status === 'rejected');
  syncControls(lastRange);
  statusLine.textContent = failed.length ? `${failed.length} panel(s) could not load: ${failed[0].reason.message}` : `Updated ${utc(Date.now())}.`;
  document.body.dataset.loaded = failed.length ? 'error' : 'true';
  for (const fn of listeners) fn(lastRange);
}

/** Puts a new state in the URL (a new history entry, so Back returns to the previous view) and loads it. */
export function navigate(next) {
  if (sameState(next, state)) return;
  state = next;
  window.history.pushState(null, '', `?${stateQuery(state)}`);
  syncControls(null);
  syncFilters();
  void refresh();
}

/** Loads the current state again (the live refresh): same URL, new "now". */
export function reload() {
  void refresh();
}

export function currentState() {
  return state;
}

function bindControls() {
  for (const b of form.querySelectorAll('[data-range]')) {
    b.addEventListener('click', () => {
      const custom = document.getElementById('custom-range');
      if (b.dataset.range === 'custom') {
        custom.dataset.open = 'true';
        custom.hidden = false;
        form.elements.from.focus();
        return;
      }
      delete custom.dataset.open;
      navigate({ ...state, range: b.dataset.range, from: null, to: null });
    });
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    delete document.getElementById('custom-range').dataset.open;
    navigate({ ...state, range: 'custom', from: inputInstant(form.elements.from.value), to: inputInstant(form.elements.to.value) });
  });
  for (const name of ['organization_id', 'node_type']) {
    form.elements[name].addEventListener('change', () => navigate({ ...state, [name]: form.elements[name].value }));
  }
  form.elements.compare.addEventListener('change', () => navigate({ ...state, compare: form.elements.compare.checked ? 'previous' : '' }));
  // Drill-down links are real links (a new tab with a modifier key); a plain click stays on the page.
  document.addEventListener('click', (e) => {
    const a = e.target.closest?.('a[data-drill]');
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(readState(a.search));
  });
  window.addEventListener('popstate', () => {
    state = readState(window.location.search);
    syncControls(null);
    syncFilters();
    void refresh();
  });
}

async function init() {
  bindControls();
  try {
    const filters = await get('/api/filters');
    firstRun = filters.first_event_at === null;
    const org = form.elements.organization_id;
    for (const o of filters.organizations) org.append(new window.Option(o, o));
    if (state.organization_id && !filters.organizations.includes(state.organization_id)) org.append(new window.Option(state.organization_id, state.organization_id));
    const node = form.elements.node_type;
    for (const n of filters.node_types) node.append(new window.Option(n.label, n.name));
    // A URL without a range gets the one the data calls for, written back so the link names what is shown.
    if (!state.range) {
      state = { ...state, range: filters.default_range };
      window.history.replaceState(null, '', `?${stateQuery(state)}`);
    }
  } catch (err) {
    statusLine.textContent = `Could not load filters: ${err.message}`;
    if (!state.range) state = { ...state, range: '28d' };
  }
  syncControls(null);
  syncFilters();
  await refresh();
}

void init();
