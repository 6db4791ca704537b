// The tables that show one metric route each: which columns of its rows, in which format, and what an empty
// result means for that table.
import { int, pct, text } from './format.js';

export const METRIC_TABLES = [
  {
    metric: 'failure-rate-1h',
    empty: 'No completed or blocked calls in the 60 minutes before the end of the range.',
    columns: [
      { key: 'node_type', format: text },
      { key: 'completed', format: int },
      { key: 'failed', format: int },
      { key: 'failure_rate_pct', format: pct, cls: (r) => (r.above_threshold === 1 ? 'alert' : '') },
      { key: 'blocked', format: int },
    ],
  },
  {
    metric: 'failure-reasons',
    empty: 'No failed calls in this range.',
    columns: [
      { key: 'reason', format: text },
      { key: 'class', format: text },
      { key: 'failures', format: int },
      { key: 'share_pct', format: (v) => (v === null ? '–' : pct(v)) },
    ],
  },
  {
    metric: 'node-types',
    empty: 'No action calls in this range.',
    columns: [
      { key: 'node_type', format: text },
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
  {
    metric: 'organizations',
    empty: 'No action calls in this range.',
    columns: [
      { key: 'organization_id', format: text },
      { key: 'executed', format: int },
      { key: 'failed', format: int },
      { key: 'blocked', format: int },
      { key: 'success_rate_pct', format: pct },
      { key: 'token_refresh_failed', format: int },
    ],
  },
  {
    metric: 'adoption-funnel',
    empty: 'No action was configured for an agent in this range.',
    columns: [
      { key: 'node_type', format: text },
      { key: 'configured_agents', format: int },
      { key: 'invoked_agents', format: int },
      { key: 'executed_agents', format: int },
      { key: 'invoked_pct', format: pct },
      { key: 'executed_pct', format: pct },
    ],
  },
  {
    metric: 'agent-retention-weekly',
    empty: 'No agent invoked an action in these weeks.',
    columns: [
      { key: 'week_start', format: text },
      { key: 'agents', format: int },
      { key: 'previous_agents', format: int },
      { key: 'retained', format: int },
      { key: 'retention_pct', format: pct },
    ],
  },
];
