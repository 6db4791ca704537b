// The per-action and per-organization pages: one action (or organization) over the range of the URL, from the same
// metric routes (the same SQL files) as the overview, filtered to it, with its alert episodes and registry changes.
// `body[data-page]` says which; the URL carries the same keys as the overview's (view-state.js).
import { int, pct, text, utc } from './format.js';
import { QUICK_RANGES, readState, stateQuery } from './view-state.js';
import { lineChart } from './charts.js';
import { fillTable, panel, setEmpty, setError, setLoading, setReady } from './panels.js';
import { showFailureRate, showThresholds } from './tiles.js';
import { markReasonScope, showChips } from './filter-chips.js';

const PAGE = document.body.dataset.page;
let state = readState(window.location.search);
let thresholds = { failure_rate_alert: null, kill_switch: null, slo_allowed_failure_rate: null };
const KEY = PAGE === 'action' ? 'node_type' : 'organization_id';
// Nothing recorded at all yet (`first_event_at` null): every empty panel says "No data yet.", as on the overview.
let firstRun = false;
const empty = (p, message) => setEmpty(p, firstRun ? 'No data yet.' : message);

const link = (page, patch) => `${page}?${stateQuery({ ...state, ...patch, compare: '' })}`;
const toAction = (r) => link('action.html', { node_type: r.node_type });
const toOrganization = (r) => link('organization.html', { organization_id: r.organization_id, node_type: '' });
// A failure reason narrows this page to the calls that failed with it (a chip drops it again).
const toReason = (r) => link(`${PAGE}.html`, { reason: r.reason });
const when = (ms) => (ms === null ? 'still firing' : utc(ms));

const TABLES = {
  // The action's (or organization's) totals over the range: its calls, outcome and durations.
  summary: {
    metric: 'node-types',
    empty: 'No calls in this range.',
    columns: [
      { key: 'node_type', format: text, drill: toAction },
      { key: 'invoked', format: int },
      { key: 'executed', format: int },
      { key: 'failed', format: int },
      { key: 'unknown_outcome', format: int },
      { key: 'blocked', format: int },
      { key: 'success_rate_pct', format: pct },
      { key: 'p50_ms', format: int },
      { key: 'p95_ms', format: int },
    ],
  },
  'failure-reasons': {
    metric: 'failure-reasons',
    empty: 'No failed calls in this range.',
    columns: [
      { key: 'reason', format: text, drill: toReason },
      { key: 'class', format: text },
      { key: 'failures', format: int },
      { key: 'share_pct', format: (v) => (v === null ? '–' : pct(v)) },
    ],
  },
  organizations: {
    metric: 'organizations',
    empty: 'No calls in this range.',
    columns: [
      { key: 'organization_id', format: text, drill: toOrganization },
      { key: 'executed', format: int },
      { key: 'failed', format: int },
      { key: 'blocked', format: int },
      { key: 'success_rate_pct', format: pct },
      { key: 'token_refresh_failed', format: int },
    ],
  },
};

const EPISODE_COLUMNS = [
  { key: 'title', format: text, drill: (a) => a.url },
  { key: 'start_ms', format: utc },
  { key: 'end_ms', format: when },
  { key: 'scope', format: text },
  { key: 'detail', format: text, cls: () => 'wrap' },
];
const CHANGE_COLUMNS = [
  { key: 'start_ms', format: utc, drill: (a) => a.url },
  { key: 'title', format: text },
  { key: 'scope', format: text },
  { key: 'actor', format: text },
  { key: 'detail', format: text, cls: () => 'wrap' },
];

async function get(path) {
  const res = await fetch(`${path}?${stateQuery(state)}`);
  const body = await res.json();
  if (!res.ok) throw new Error(body.detail || body.error || res.statusText);
  return body;
}

async function load(name, task) {
  const p = panel(name);
  if (!p) return undefined;
  setLoading(p);
  try {
    return await task(p);
  } catch (err) {
    setError(p, err.message);
    throw err;
  }
}

function header() {
  const name = state[KEY];
  document.getElementById('subject').textContent = name;
  document.title = `Actionpulse — ${name}`;
  const back = document.getElementById('back');
  back.href = `./?${stateQuery({ ...state, compare: '' })}`;
  const ranges = document.getElementById('ranges');
  ranges.replaceChildren(...[...QUICK_RANGES, 'custom'].map((r) => {
    const a = document.createElement('a');
    a.textContent = r === 'custom' ? 'Custom' : r.replace(/(\d+)/, '$1 ');
    a.dataset.range = r;
    a.setAttribute('aria-current', String(state.range === r));
    a.href = r === 'custom' ? window.location.search : `?${stateQuery({ ...state, range: r, from: null, to: null })}`;
    return a;
  }));
  const scope = document.getElementById('scope');
  scope.textContent = PAGE === 'action' && state.organization_id ? `Organization ${state.organization_id} only` : '';
  showChips(document.getElementById('filter-chips'), state, (key) => link(`${PAGE}.html`, { [key]: '' }), ['reason']);
  for (const a of document.querySelectorAll('a[data-download]')) a.href = `/api/${a.dataset.download}?${stateQuery(state)}&format=csv`;
}

function showRange(range) {
  const asOf = document.getElementById('as-of');
  asOf.textContent = `${utc(range.from)} – ${utc(range.to)}${range.live ? ` · as of ${utc(range.to)}` : ''}`;
  asOf.dataset.from = range.from;
  asOf.dataset.to = range.to;
}

async function refresh() {
  document.body.dataset.loaded = 'false';
  const annotations = get('/api/annotations').then((a) => a.annotations);
  const series = load('calls', async (p) => {
    const [{ range, rows }, notes] = await Promise.all([get('/api/metrics/actions-timeseries'), annotations.catch(() => [])]);
    showRange(range);
    markReasonScope(p, state.reason, range.reason);
    if (rows.every((r) => r.executed + r.failed + r.blocked === 0)) return empty(p, range.reason ? `No call failed with ${range.reason} in this range.` : 'No completed or blocked call in this range.');
    lineChart('chart-calls', [
      { label: 'Executed', stroke: '#1b7f3b', width: 2 },
      { label: 'Failed', stroke: '#b42318', width: 2 },
      { label: 'Blocked', stroke: '#667085', width: 1 },
    ], [rows.map((r) => r.t), rows.map((r) => r.executed), rows.map((r) => r.failed), rows.map((r) => r.blocked)], [Date.parse(range.from) / 1000, Date.parse(range.to) / 1000], notes);
    return setReady(p);
  });
  const durations = load('durations', async (p) => {
    const [{ range, rows }, notes] = await Promise.all([get('/api/metrics/durations-timeseries'), annotations.catch(() => [])]);
    markReasonScope(p, state.reason, range.reason);
    if (rows.length === 0) return empty(p, 'No executed or failed call in this range.');
    lineChart('chart-durations', [
      { label: 'p50', stroke: '#1554c0', width: 2 },
      { label: 'p95', stroke: '#b54708', width: 2 },
    ], [rows.map((r) => r.t), rows.map((r) => r.p50_ms), rows.map((r) => r.p95_ms)], [Date.parse(range.from) / 1000, Date.parse(range.to) / 1000], notes);
    return setReady(p);
  });
  const tables = Object.entries(TABLES).map(([name, t]) => load(name, async (p) => {
    const { range, rows } = await get(`/api/metrics/${t.metric}`);
    markReasonScope(p, state.reason, range.reason);
    if (rows.length === 0) return empty(p, range.reason ? `No call failed with ${range.reason} in this range.` : t.empty);
    fillTable(p, rows, t.columns, undefined, (url) => url);
    return setReady(p);
  }));
  const scoped = (a) => ({ ...a, scope: [a.node_type, a.organization_id].filter(Boolean).join(' · ') || 'all actions' });
  const episodes = load('episodes', async (p) => {
    markReasonScope(p, state.reason, '');
    const list = (await annotations).filter((a) => a.kind === 'alert_episode').map(scoped);
    if (list.length === 0) return empty(p, 'No alert fired in this range.');
    fillTable(p, list, EPISODE_COLUMNS, undefined, (url) => url);
    return setReady(p);
  });
  const changes = load('changes', async (p) => {
    markReasonScope(p, state.reason, '');
    const list = (await annotations).filter((a) => a.kind === 'registry_change').map(scoped);
    if (list.length === 0) return empty(p, 'No disable or re-enable in this range.');
    fillTable(p, list, CHANGE_COLUMNS, undefined, (url) => url);
    return setReady(p);
  });
  // The rolling hour before `to`, as the alert rule judged it (the action page only).
  const hour = load('failure-rate', async (p) => {
    const { range, rows } = await get('/api/metrics/failure-rate-1h');
    markReasonScope(p, state.reason, range.reason);
    return showFailureRate(rows, thresholds, firstRun);
  });
  const results = await Promise.allSettled([series, durations, ...tables, episodes, changes, hour]);
  const failed = results.filter((r) => r.status === 'rejected');
  document.getElementById('status').textContent = failed.length ? `${failed.length} panel(s) could not load: ${failed[0].reason.message}` : `Updated ${utc(Date.now())}.`;
  document.body.dataset.loaded = failed.length ? 'error' : 'true';
}

async function init() {
  if (!state[KEY]) {
    document.getElementById('status').textContent = `Name the ${PAGE === 'action' ? 'action: ?node_type=…' : 'organization: ?organization_id=…'}`;
    document.body.dataset.loaded = 'error';
    return;
  }
  // The organization page shows every action of the organization; the action page may keep an organization.
  if (PAGE === 'organization') state = { ...state, node_type: '' };
  const filters = await get('/api/filters').catch(() => ({ default_range: '24h' }));
  if (filters.thresholds) thresholds = filters.thresholds;
  firstRun = filters.first_event_at === null;
  showThresholds(thresholds);
  if (!state.range) {
    state = { ...state, range: filters.default_range };
    window.history.replaceState(null, '', `?${stateQuery(state)}`);
  }
  header();
  await refresh();
}

void init();
