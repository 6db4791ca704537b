// The six tiles: the four §12 numbers of /api/overview, the rolling failure rate and the blocked calls. A tile whose
// number has no denominator in the range (no active agent, no completed call…) says so instead of showing 0 or n/a.
import { int, pct } from './format.js';
import { panel, setEmpty, setReady } from './panels.js';
import { compareLine } from './compare.js';

/** `cmp`: [now, before, kind, better] when the page compares with the previous period. */
function tile(name, value, detail, good, cmp) {
  const el = panel(name);
  el.querySelector('.value').textContent = value;
  el.querySelector('.detail').textContent = detail;
  el.classList.toggle('ok', good === true);
  el.classList.toggle('bad', good === false);
  compareLine(el, ...(cmp ?? [null, undefined]));
  setReady(el);
}

function none(name, message) {
  const el = panel(name);
  el.querySelector('.value').textContent = '–';
  el.querySelector('.detail').textContent = '';
  el.classList.remove('ok', 'bad');
  compareLine(el, null, undefined);
  setEmpty(el, message);
}

// Thresholds come from the alert rules through the API (fractions, null when no rule sets one); the page
// writes none down itself.
export function showThresholds(t) {
  const alert = t.failure_rate_alert === null ? null : 100 * t.failure_rate_alert;
  const kill = t.kill_switch === null ? null : 100 * t.kill_switch;
  const target = t.slo_allowed_failure_rate === null ? null : 100 * (1 - t.slo_allowed_failure_rate);
  const alertText = [alert === null ? '' : `alert > ${pct(alert)}`, kill === null ? '' : `kill switch > ${pct(kill)} sustained`].filter(Boolean).join(', ');
  for (const el of document.querySelectorAll('[data-threshold="failure-rate"]')) el.textContent = alertText || 'no alert rule';
  for (const el of document.querySelectorAll('[data-threshold="success-target"]')) el.textContent = target === null ? 'no SLO rule' : `target ≥ ${pct(target)}`;
}

/** The week in the volume tile's detail as a link opening that week (`href(weekStart)`), like a week row. */
function linkWeek(name, weekStart, href) {
  const detail = panel(name).querySelector('.detail');
  const [before, after] = detail.textContent.split(weekStart);
  const a = document.createElement('a');
  a.href = href(weekStart);
  a.dataset.drill = 'true';
  a.dataset.week = weekStart;
  a.textContent = weekStart;
  detail.replaceChildren(before, a, after);
}

/** `firstRun`: nothing recorded at all, every empty tile says "No data yet". `weekHref(weekStart)`: a week's view. */
export function showOverview(o, firstRun, weekHref) {
  const empty = (message) => (firstRun ? 'No data yet.' : message);
  const p = o.previous;
  const cmp = (now, before, kind, better) => (p ? [now, before, kind, better] : undefined);
  const a = o.adoption;
  if (Number(a.active_agents) === 0) none('adoption', empty('No active agent in this range.'));
  else tile('adoption', pct(a.adoption_pct), `${int(a.adopting_agents)} of ${int(a.active_agents)} active agents`, a.adoption_pct >= a.target_pct, cmp(a.adoption_pct, p?.adoption.adoption_pct, 'pct', 'up'));
  const weeks = o.execution_volume_weekly;
  const last = weeks[weeks.length - 1];
  if (!last) none('volume', empty('No execution in this range.'));
  else {
    tile('volume', int(last.executed), `week of ${last.week_start}, ${last.growth_pct === null ? 'no growth figure' : `${last.growth_pct >= 0 ? '+' : ''}${pct(last.growth_pct)} w/w`}`, last.growth_pct === null ? undefined : last.growth_pct > 0, cmp(last.executed, p?.execution_volume_weekly.at(-1)?.executed ?? 0, 'count', 'up'));
    if (weekHref) linkWeek('volume', last.week_start, weekHref);
  }
  const s = o.success_rate;
  if (Number(s.completed) === 0) none('success', empty('No completed call in this range.'));
  else tile('success', pct(s.success_rate_pct), `${int(s.executed)} executed of ${int(s.completed)} completed calls, ${int(s.failed)} failed (${int(s.unknown_outcome)} with unknown outcome)`, s.meets_target === null ? undefined : s.meets_target === 1, cmp(s.success_rate_pct, p?.success_rate.success_rate_pct, 'pct', 'up'));
  const t = o.token_refresh_success;
  if (Number(t.total) === 0) none('token', empty('No token refresh in this range.'));
  else tile('token', pct(t.success_pct), `${int(t.successful)} of ${int(t.total)} refreshes`, t.success_pct >= t.target_pct, cmp(t.success_pct, p?.token_refresh_success.success_pct, 'pct', 'up'));
  if (firstRun) none('blocked', 'No data yet.');
  else tile('blocked', int(s.blocked), `refused while the action was disabled; ${int(s.unknown_outcome)} unknown-outcome creates count as failed`, undefined, cmp(s.blocked, p?.success_rate.blocked, 'count', 'down'));
}

/** Failed / completed of the rolling hour's rows, in %, or null without a completed call. */
function hourRate(rows) {
  const failed = rows.reduce((n, r) => n + r.failed, 0);
  const completed = rows.reduce((n, r) => n + r.completed, 0);
  return { failed, completed, pct: completed > 0 ? (100 * failed) / completed : null };
}

/** All actions together: the rule's overall scope, compared as the rule compares (failed / completed > threshold). */
export function showFailureRate(rows, thresholds, firstRun, previousRows) {
  const { failed, completed, pct: rate } = hourRate(rows);
  if (completed === 0) return none('failure-rate', firstRun ? 'No data yet.' : 'No completed call in the 60 minutes before the end of the range.');
  const alertAt = thresholds.failure_rate_alert;
  const cmp = previousRows ? [rate, hourRate(previousRows).pct, 'pct', 'down'] : undefined;
  tile('failure-rate', pct(rate), `${int(failed)} failed / ${int(completed)} completed calls`, alertAt === null ? undefined : !(failed / completed > alertAt), cmp);
}
