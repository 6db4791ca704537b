import type { ActionEvent } from '../events/index.ts';

/**
 * The metric definitions of dashboards/sql/*.sql written again, independently, in plain TypeScript over
 * the generator's distinct events. The truth test asserts the SQL over ClickHouse returns exactly these
 * rows. Same filters: [fromMs, toMs) on event time (whole hours), organization and node_type ('' = all).
 */
export interface TruthFilters {
  fromMs: number;
  toMs: number;
  organizationId?: string;
  nodeType?: string;
  bucketHours?: number;
}

type Row = Record<string, string | number | null>;
type Field = string | number | undefined;

const HOUR = 3600_000;
const f = (e: ActionEvent, name: string): Field => (e as unknown as Record<string, Field>)[name];

function select(events: readonly ActionEvent[], q: TruthFilters, names: string[], range: [number, number] = [q.fromMs, q.toMs]) {
  return events.filter(
    (e) =>
      names.includes(e.event) &&
      e.timestamp >= range[0] &&
      e.timestamp < range[1] &&
      (!q.organizationId || e.organization_id === q.organizationId) &&
      (!q.nodeType || f(e, 'node_type') === q.nodeType),
  );
}

const pct = (part: number, whole: number) => (whole === 0 ? null : (100 * part) / whole);

/** ClickHouse quantileExact: the element at index floor(level * n) of the sorted values. */
export function quantileExact(values: number[], level: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(Math.floor(level * sorted.length), sorted.length - 1)];
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const item of items) m.set(key(item), (m.get(key(item)) ?? 0) + 1);
  return m;
}

function mondayOf(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day)).toISOString().slice(0, 10);
}

export function adoption(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const agent = (e: ActionEvent) => `${e.organization_id}|${f(e, 'agent_id')}`;
  const active = new Set(select(events, { ...q, nodeType: '' }, ['qontak_agent_active']).map(agent));
  const configured = new Set(select(events, q, ['qontak_action_configured'], [0, q.toMs]).map(agent));
  const adopting = [...active].filter((a) => configured.has(a)).length;
  return [{ active_agents: active.size, adopting_agents: adopting, adoption_pct: pct(adopting, active.size), target_pct: 30 }];
}

export function executionVolumeWeekly(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const weeks = [...countBy(select(events, q, ['qontak_action_executed']), (e) => mondayOf(e.timestamp))].sort(([a], [b]) => a.localeCompare(b));
  return weeks.map(([week, executed], i) => {
    const prev = weeks[i - 1];
    const adjacent = prev && Date.parse(week) - Date.parse(prev[0]) === 7 * 24 * HOUR;
    return { week_start: week, executed, growth_pct: adjacent && prev[1] > 0 ? (100 * (executed - prev[1])) / prev[1] : null };
  });
}

export function successRate(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const executed = select(events, q, ['qontak_action_executed']).length;
  const failed = select(events, q, ['qontak_action_failed']).length;
  return [{ executed, failed, success_rate_pct: pct(executed, executed + failed), target_pct: 97 }];
}

export function tokenRefreshSuccess(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const all = select(events, q, ['qontak_action_token_refreshed']);
  const successful = all.filter((e) => f(e, 'outcome') === 'success').length;
  return [{ successful, failed: all.length - successful, total: all.length, success_pct: pct(successful, all.length), target_pct: 99 }];
}

export function failureReasons(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const failures = select(events, q, ['qontak_action_failed']);
  return [...countBy(failures, (e) => String(f(e, 'reason')))]
    .map(([reason, n]) => ({ reason, failures: n, share_pct: (100 * n) / failures.length }))
    .sort((a, b) => b.failures - a.failures || a.reason.localeCompare(b.reason));
}

export function nodeTypes(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const rows = select(events, q, ['qontak_action_invoked', 'qontak_action_executed', 'qontak_action_failed']);
  const types = [...new Set(rows.map((e) => String(f(e, 'node_type'))))].sort();
  return types.map((nodeType) => {
    const of = rows.filter((e) => f(e, 'node_type') === nodeType);
    const n = (name: string) => of.filter((e) => e.event === name).length;
    const executed = n('qontak_action_executed');
    const failed = n('qontak_action_failed');
    const durations = of.filter((e) => e.event !== 'qontak_action_invoked').map((e) => Number(f(e, 'duration_ms')));
    return {
      node_type: nodeType,
      invoked: n('qontak_action_invoked'),
      executed,
      failed,
      success_rate_pct: pct(executed, executed + failed),
      p50_ms: quantileExact(durations, 0.5),
      p95_ms: quantileExact(durations, 0.95),
    };
  });
}

export function organizations(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const rows = select(events, q, ['qontak_action_executed', 'qontak_action_failed', 'qontak_action_token_refreshed']);
  const orgs = [...new Set(rows.map((e) => e.organization_id))];
  return orgs
    .map((org) => {
      const of = rows.filter((e) => e.organization_id === org);
      const executed = of.filter((e) => e.event === 'qontak_action_executed').length;
      const failed = of.filter((e) => e.event === 'qontak_action_failed').length;
      const tokenFailed = of.filter((e) => e.event === 'qontak_action_token_refreshed' && f(e, 'outcome') === 'failed').length;
      return { organization_id: org, executed, failed, success_rate_pct: pct(executed, executed + failed), token_refresh_failed: tokenFailed };
    })
    .sort((a, b) => b.executed + b.failed - (a.executed + a.failed) || a.organization_id.localeCompare(b.organization_id))
    .slice(0, 200);
}

export function failureRate1h(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const rows = select(events, q, ['qontak_action_invoked', 'qontak_action_failed'], [q.toMs - HOUR, q.toMs]);
  const types = [...new Set(rows.map((e) => String(f(e, 'node_type'))))].sort();
  return types.map((nodeType) => {
    const invoked = rows.filter((e) => e.event === 'qontak_action_invoked' && f(e, 'node_type') === nodeType).length;
    const failed = rows.filter((e) => e.event === 'qontak_action_failed' && f(e, 'node_type') === nodeType).length;
    return { node_type: nodeType, invoked, failed, failure_rate_pct: pct(failed, invoked), threshold_pct: 10 };
  });
}

export function actionsTimeseries(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const size = (q.bucketHours ?? 1) * HOUR;
  const rows = select(events, q, ['qontak_action_executed', 'qontak_action_failed']);
  const buckets = new Map<number, { executed: number; failed: number }>();
  for (const e of rows) {
    const t = Math.floor(e.timestamp / size) * (size / 1000);
    const b = buckets.get(t) ?? { executed: 0, failed: 0 };
    if (e.event === 'qontak_action_executed') b.executed++;
    else b.failed++;
    buckets.set(t, b);
  }
  return [...buckets].sort(([a], [b]) => a - b).map(([t, b]) => ({ t, ...b }));
}

/** Ground truth for each SQL file under dashboards/sql, keyed by file name. */
export const GROUND_TRUTH = {
  adoption,
  'execution-volume-weekly': executionVolumeWeekly,
  'success-rate': successRate,
  'token-refresh-success': tokenRefreshSuccess,
  'failure-reasons': failureReasons,
  'node-types': nodeTypes,
  organizations,
  'failure-rate-1h': failureRate1h,
  'actions-timeseries': actionsTimeseries,
} as const;
