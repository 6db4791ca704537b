// Error budget panel: the success SLO's budget left per action over the SLO rule's window, from GET /api/error-budget
// (written by the alert evaluator from its slo-budget-burn-3d window, so it follows the rule, not the page's range).
// Calls are completed calls (executed + failed; blocked calls left out). Served only where the alerts' database is:
// elsewhere the panel says so.
import { pct, int, utc } from './format.js';
import { fillTable, panel, setEmpty, setError, setLoading, setReady } from './panels.js';

const fraction = (v) => (v === null || v === undefined ? 'n/a' : pct(Number(v) * 100));
const span = (minutes) => (minutes % 1440 === 0 ? `${minutes / 1440} days` : minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`);

/** "−2457.5% (25.6× the allowed failures)": a negative budget read as how far it is overspent. */
export function budgetText(left) {
  if (left === null || left === undefined) return 'n/a';
  const spent = 1 - Number(left);
  return spent > 1 ? `${fraction(left)} (${spent.toFixed(1)}× the allowed failures)` : fraction(left);
}

export async function loadErrorBudget(signal, firstRun) {
  const p = panel('error-budget');
  setLoading(p);
  let res;
  try {
    res = await fetch('/api/error-budget', { signal });
  } catch (err) {
    if (err.name !== 'AbortError') setError(p, err.message);
    return;
  }
  if (res.status === 404) return setEmpty(p, 'No data: this service does not run the alert evaluator that computes the budget.');
  if (!res.ok) return setError(p, res.statusText);
  const { error_budget: rows } = await res.json();
  if (rows.length === 0) return setEmpty(p, firstRun ? 'No data yet.' : 'No data yet: the alert evaluator has not written a budget.');
  p.querySelector('h2').textContent = `Error budget left (${fraction(rows[0].success_target)} success SLO, trailing ${span(rows[0].window_minutes)})`;
  fillTable(p, rows, [
    { key: 'node_type', format: (v) => v ?? 'all actions' },
    { key: 'calls', format: int },
    { key: 'failures', format: int },
    { key: 'failure_rate', format: fraction },
    { key: 'budget_left', format: budgetText, cls: (r) => (r.budget_left === null ? '' : r.budget_left > 0.25 ? 'ok' : 'bad') },
    { key: 'as_of', format: utc },
  ]);
  setReady(p);
}
