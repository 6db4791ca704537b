// The whole view (range, filters: organization, action, failure reason; comparison) lives in the page's URL, so a link reproduces what its sender saw. A quick range
// (`range=24h`) ends now and moves with the clock; a custom one (`from`/`to`, the form notification links carry)
// is fixed. The API takes the same keys, so the URL's query is the API's query.
export const QUICK_RANGES = ['1h', '24h', '7d', '28d'];
const KEYS = ['range', 'from', 'to', 'organization_id', 'node_type', 'reason', 'compare'];
/** The filters a reader can drop one by one (a chip each). */
export const FILTERS = [['organization_id', 'Organization'], ['node_type', 'Action'], ['reason', 'Failure reason']];

/** The state a URL names; `range` is null when it names none (the page then asks the API for the default). */
export function readState(search) {
  const p = new window.URLSearchParams(search);
  const from = p.get('from');
  const to = p.get('to');
  const custom = Boolean(from || to);
  const range = custom ? 'custom' : QUICK_RANGES.includes(p.get('range')) ? p.get('range') : null;
  return { range, from: custom ? from : null, to: custom ? to : null, organization_id: p.get('organization_id') ?? '', node_type: p.get('node_type') ?? '', reason: p.get('reason') ?? '', compare: p.get('compare') === 'previous' ? 'previous' : '' };
}

/** The query naming a state: the page's URL and every API call. */
export function stateQuery(state) {
  const p = new window.URLSearchParams();
  if (state.range === 'custom') {
    if (state.from) p.set('from', state.from);
    if (state.to) p.set('to', state.to);
  } else if (state.range) p.set('range', state.range);
  for (const key of ['organization_id', 'node_type', 'reason', 'compare']) if (state[key]) p.set(key, state[key]);
  return p;
}

export function sameState(a, b) {
  return KEYS.every((k) => (a[k] ?? '') === (b[k] ?? ''));
}

/** A link instant (ISO or epoch ms) as the value of a UTC datetime-local input, to the second. */
export function inputValue(instant) {
  if (!instant) return '';
  const ms = /^\d+$/.test(instant) ? Number(instant) : Date.parse(instant);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString().slice(0, 19);
}

/** A UTC datetime-local input's value (YYYY-MM-DDTHH:MM[:SS]) as an ISO instant. */
export function inputInstant(value) {
  if (!value) return null;
  return new Date(`${value.length === 16 ? `${value}:00` : value}Z`).toISOString();
}
