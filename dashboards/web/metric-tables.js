// The tables that show one metric route each: which columns of its rows, in which format, where a click drills down
// (`drill`), which direction of change is good news when comparing with the previous period (`better`), and what an
// empty result means for that table.
// Weekly retention has none: its rows are weeks, which the previous period does not share.
import { int, pct, text } from './format.js';

// A click on an action, an organization, a failure reason or a week filters the page to it.
const byAction = (r) => ({ node_type: r.node_type });
const byOrganization = (r) => ({ organization_id: r.organization_id });
const byReason = (r) => ({ reason: r.reason });
const WEEK_MS = 7 * 86_400_000;
/** The ISO week starting on `weekStart` ('YYYY-MM-DD', a Monday) as a custom range: the patch of the state. */
export const weekRange = (weekStart) => ({ range: 'custom', from: `${weekStart}T00:00:00.000Z`, to: new Date(Date.parse(`${weekStart}T00:00:00Z`) + WEEK_MS).toISOString() });
const byWeek = (r) => weekRange(r.week_start);

export const METRIC_TABLES = [
  {
    metric: 'failure-rate-1h',
    empty: 'No completed or blocked calls in the 60 minutes before the end of the range.',
    columns: [
      { key: 'node_type', format: text, drill: byAction },
      { key: 'completed', format: int, better: 'up' },
      { key: 'failed', format: int, better: 'down' },
      { key: 'failure_rate_pct', format: pct, cls: (r) => (r.above_threshold === 1 ? 'alert' : ''), better: 'down' },
      { key: 'blocked', format: int, better: 'down' },
    ],
  },
  {
    metric: 'failure-reasons',
    empty: 'No failed calls in this range.',
    columns: [
      { key: 'reason', format: text, drill: byReason },
      { key: 'class', format: text },
      { key: 'failures', format: int, better: 'down' },
      { key: 'share_pct', format: (v) => (v === null ? '–' : pct(v)) },
    ],
  },
  {
    metric: 'node-types',
    empty: 'No action calls in this range.',
    columns: [
      { key: 'node_type', format: text, drill: byAction },
      { key: 'invoked', format: int, better: 'up' },
      { key: 'executed', format: int, better: 'up' },
      { key: 'failed', format: int, better: 'down' },
      { key: 'unknown_outcome', format: int, better: 'down' },
      { key: 'blocked', format: int, better: 'down' },
      { key: 'success_rate_pct', format: pct, better: 'up' },
      { key: 'p50_ms', format: int, better: 'down' },
      { key: 'p95_ms', format: int, better: 'down' },
    ],
  },
  {
    metric: 'organizations',
    empty: 'No action calls in this range.',
    columns: [
      { key: 'organization_id', format: text, drill: byOrganization },
      { key: 'executed', format: int, better: 'up' },
      { key: 'failed', format: int, better: 'down' },
      { key: 'blocked', format: int, better: 'down' },
      { key: 'success_rate_pct', format: pct, better: 'up' },
      { key: 'token_refresh_failed', format: int, better: 'down' },
    ],
  },
  {
    metric: 'adoption-funnel',
    empty: 'No action was configured for an agent in this range.',
    columns: [
      { key: 'node_type', format: text, drill: byAction },
      { key: 'configured_agents', format: int, better: 'up' },
      { key: 'invoked_agents', format: int, better: 'up' },
      { key: 'executed_agents', format: int, better: 'up' },
      { key: 'invoked_pct', format: pct, better: 'up' },
      { key: 'executed_pct', format: pct, better: 'up' },
    ],
  },
  {
    metric: 'agent-retention-weekly',
    empty: 'No agent invoked an action in these weeks.',
    columns: [
      { key: 'week_start', format: text, drill: byWeek },
      { key: 'agents', format: int },
      { key: 'previous_agents', format: int },
      { key: 'retained', format: int },
      { key: 'retention_pct', format: pct },
    ],
  },
];
