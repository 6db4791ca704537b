import { failureClass, type ActionEvent } from '../events/index.ts';
import { bucketMinutesFor } from '../consumers/clickhouse/metric-queries.ts';
import type { RateThresholds } from '../consumers/alerts/rate-thresholds.ts';

/**
 * The metric definitions of dashboards/sql/*.sql written again, independently, in plain TypeScript over
 * the generator's distinct events. The truth test asserts the SQL over ClickHouse returns exactly these
 * rows. Same filters: [fromMs, toMs) on event time to the millisecond, organization and node_type ('' = all);
 * the metrics that show a threshold take the alert rules' thresholds as the SQL does; the four that take a failure
 * reason keep only the calls that failed with it.
 * Percentiles are the one approximate figure: `durationBounds` gives the interval the SQL's must fall in.
 */
export interface TruthFilters {
  fromMs: number;
  toMs: number;
  organizationId?: string;
  nodeType?: string;
  /** A failure reason ('' = all): failure-reasons, node-types, organizations and actions-timeseries only. */
  reason?: string;
  bucketMinutes?: number;
}

type Row = Record<string, string | number | null>;
type Field = string | number | undefined;

const MINUTE = 60_000;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const f = (e: ActionEvent, name: string): Field => (e as unknown as Record<string, Field>)[name];
const isBlocked = (e: ActionEvent) => e.event === 'qontak_action_failed' && failureClass(e.reason) === 'blocked';
const isUnknown = (e: ActionEvent) => e.event === 'qontak_action_failed' && failureClass(e.reason) === 'unknown';
/** A failure that counts in rates: every failed event except blocked calls. */
const isFailure = (e: ActionEvent) => e.event === 'qontak_action_failed' && !isBlocked(e);
/** The events a reason filter keeps: with one, only the calls that failed with that reason. */
const ofReason = (q: TruthFilters) => (e: ActionEvent) => !q.reason || (e.event === 'qontak_action_failed' && e.reason === q.reason);
/** A column that is not about a failure reason: NULL under a reason filter. */
const unlessReason = <T>(q: TruthFilters, v: T): T | null => (q.reason ? null : v);
const agentOf = (e: ActionEvent) => `${e.organization_id}|${f(e, 'agent_id')}`;

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

const pct = (part: number, whole: number) => (whole <= 0 ? null : (100 * part) / whole);
const count = (events: readonly ActionEvent[], pred: (e: ActionEvent) => boolean) => events.filter(pred).length;

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
  return new Date(mondayMs(ms)).toISOString().slice(0, 10);
}

function mondayMs(ms: number): number {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
}

/** Last configuration change per (organization, agent, node_type) before `beforeMs`: event time, then event_id. */
function configurationState(events: readonly ActionEvent[], q: TruthFilters, beforeMs: number): Map<string, ActionEvent> {
  const last = new Map<string, ActionEvent>();
  for (const e of select(events, q, ['qontak_action_configured', 'qontak_action_unconfigured'], [0, beforeMs])) {
    const key = `${agentOf(e)}|${f(e, 'node_type')}`;
    const prev = last.get(key);
    if (!prev || e.timestamp > prev.timestamp || (e.timestamp === prev.timestamp && e.event_id > prev.event_id)) last.set(key, e);
  }
  return last;
}

export function adoption(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const active = new Set(select(events, { ...q, nodeType: '' }, ['qontak_agent_active']).map(agentOf));
  const configured = new Set([...configurationState(events, q, q.toMs).values()].filter((e) => e.event === 'qontak_action_configured').map(agentOf));
  const adopting = [...active].filter((a) => configured.has(a)).length;
  return [{ active_agents: active.size, adopting_agents: adopting, adoption_pct: pct(adopting, active.size), target_pct: 30 }];
}

export function executionVolumeWeekly(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const weeks = [...countBy(select(events, q, ['qontak_action_executed']), (e) => mondayOf(e.timestamp))].sort(([a], [b]) => a.localeCompare(b));
  return weeks.map(([week, executed], i) => {
    const prev = weeks[i - 1];
    const adjacent = prev && Date.parse(week) - Date.parse(prev[0]) === 7 * DAY;
    return { week_start: week, executed, growth_pct: adjacent && prev[1] > 0 ? (100 * (executed - prev[1])) / prev[1] : null };
  });
}

/** A comparison as ClickHouse answers it: NULL when either side is NULL, else 1 or 0. */
const compare = (a: number | null, b: number | null, holds: (a: number, b: number) => boolean) => (a === null || b === null ? null : holds(a, b) ? 1 : 0);

export function successRate(events: readonly ActionEvent[], q: TruthFilters, t: RateThresholds): Row[] {
  const rows = select(events, q, ['qontak_action_executed', 'qontak_action_failed']);
  const executed = count(rows, (e) => e.event === 'qontak_action_executed');
  const failed = count(rows, isFailure);
  const completed = executed + failed;
  const allowed = t.sloAllowedFailureRate;
  return [{
    executed,
    failed,
    completed,
    blocked: count(rows, isBlocked),
    unknown_outcome: count(rows, isUnknown),
    success_rate_pct: pct(executed, completed),
    target_pct: allowed === null ? null : 100 * (1 - allowed),
    meets_target: completed === 0 ? null : compare(failed / completed, allowed, (rate, most) => rate <= most),
  }];
}

export function tokenRefreshSuccess(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const all = select(events, q, ['qontak_action_token_refreshed']);
  const successful = all.filter((e) => f(e, 'outcome') === 'success').length;
  return [{ successful, failed: all.length - successful, total: all.length, success_pct: pct(successful, all.length), target_pct: 99 }];
}

export function failureReasons(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const failures = select(events, q, ['qontak_action_failed']);
  const counted = count(failures, isFailure);
  return [...countBy(failures, (e) => String(f(e, 'reason')))]
    .map(([reason, n]) => {
      const cls = failureClass(reason);
      return { reason, class: cls, failures: n, share_pct: cls === 'blocked' ? null : (100 * n) / counted };
    })
    .filter((r) => !q.reason || r.reason === q.reason)
    .sort((a, b) => b.failures - a.failures || a.reason.localeCompare(b.reason));
}

/** Durations that the percentiles of node-types.sql summarise: executed and failed events, blocked calls left out. */
export function durationsOf(events: readonly ActionEvent[], q: TruthFilters, nodeType: string): number[] {
  return select(events, { ...q, nodeType }, ['qontak_action_executed', 'qontak_action_failed'])
    .filter((e) => !isBlocked(e))
    .map((e) => Number(f(e, 'duration_ms')));
}

/**
 * node-types.sql with exact counts and, for p50/p95, the exact quantile (floor(level * n)): the SQL's sketch
 * answers within `durationBounds` of it, which the truth test checks instead of equality.
 */
export function nodeTypes(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const rows = select(events, q, ['qontak_action_invoked', 'qontak_action_executed', 'qontak_action_failed']).filter(ofReason(q));
  const types = [...new Set(rows.map((e) => String(f(e, 'node_type'))))].sort();
  return types.map((nodeType) => {
    const of = rows.filter((e) => f(e, 'node_type') === nodeType);
    const executed = count(of, (e) => e.event === 'qontak_action_executed');
    const failed = count(of, isFailure);
    const blocked = count(of, isBlocked);
    const durations = durationsOf(events, q, nodeType);
    return {
      node_type: nodeType,
      invoked: unlessReason(q, count(of, (e) => e.event === 'qontak_action_invoked') - blocked),
      executed: unlessReason(q, executed),
      failed,
      blocked,
      unknown_outcome: count(of, isUnknown),
      success_rate_pct: unlessReason(q, pct(executed, executed + failed)),
      p50_ms: q.reason || executed + failed === 0 ? null : quantileExact(durations, 0.5),
      p95_ms: q.reason || executed + failed === 0 ? null : quantileExact(durations, 0.95),
    };
  });
}

/**
 * Where a rollup percentile must fall: between the exact values at ranks floor(level x n) ± (rankSlack x n + 1)
 * — duplicate deliveries that reached the table before a merge weigh twice in the hourly states, and a merged
 * state may answer one rank off — allowing quantileTiming's 16 ms rounding above 1,024 ms and its 30 s cap.
 */
export function durationBounds(values: number[], level: number, rankSlack: number): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const at = (i: number) => Math.min(30_000, sorted[Math.max(0, Math.min(n - 1, i))]);
  const mid = Math.floor(level * n);
  const slack = Math.ceil(rankSlack * n) + 1;
  return [at(mid - slack) - 16, at(mid + slack) + 16];
}

export function organizations(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const rows = select(events, q, ['qontak_action_executed', 'qontak_action_failed', 'qontak_action_token_refreshed']).filter(ofReason(q));
  const orgs = [...new Set(rows.map((e) => e.organization_id))];
  return orgs
    .map((org) => {
      const of = rows.filter((e) => e.organization_id === org);
      const executed = count(of, (e) => e.event === 'qontak_action_executed');
      const failed = count(of, isFailure);
      const blocked = count(of, isBlocked);
      const tokenFailed = count(of, (e) => e.event === 'qontak_action_token_refreshed' && f(e, 'outcome') === 'failed');
      return { organization_id: org, calls: executed + failed + blocked, executed, failed, blocked, success_rate_pct: pct(executed, executed + failed), token_refresh_failed: tokenFailed };
    })
    .sort((a, b) => b.calls - a.calls || a.organization_id.localeCompare(b.organization_id))
    .slice(0, 200)
    .map(({ organization_id, executed, failed, blocked, success_rate_pct, token_refresh_failed }) => ({
      organization_id,
      executed: unlessReason(q, executed),
      failed,
      blocked,
      success_rate_pct: unlessReason(q, success_rate_pct),
      token_refresh_failed: unlessReason(q, token_refresh_failed),
    }));
}

export function failureRate1h(events: readonly ActionEvent[], q: TruthFilters, t: RateThresholds): Row[] {
  const rows = select(events, q, ['qontak_action_executed', 'qontak_action_failed'], [q.toMs - HOUR, q.toMs]);
  const types = [...new Set(rows.map((e) => String(f(e, 'node_type'))))].sort();
  return types.map((nodeType) => {
    const of = rows.filter((e) => f(e, 'node_type') === nodeType);
    const executed = count(of, (e) => e.event === 'qontak_action_executed');
    const failed = count(of, isFailure);
    const completed = executed + failed;
    return {
      node_type: nodeType,
      completed,
      executed,
      failed,
      blocked: count(of, isBlocked),
      unknown_outcome: count(of, isUnknown),
      failure_rate_pct: pct(failed, completed),
      threshold_pct: t.failureRateAlert === null ? null : 100 * t.failureRateAlert,
      above_threshold: completed === 0 ? null : compare(failed / completed, t.failureRateAlert, (rate, threshold) => rate > threshold),
      kill_switch_pct: t.killSwitch === null ? null : 100 * t.killSwitch,
    };
  });
}

export function actionsTimeseries(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const size = (q.bucketMinutes ?? bucketMinutesFor(q.fromMs, q.toMs)) * MINUTE;
  const buckets = new Map<number, { executed: number; failed: number; blocked: number }>();
  // Every bucket from the one holding `from` to the last one starting before `to`, zero when empty.
  for (let t = Math.floor(q.fromMs / size) * size; t < q.toMs; t += size) buckets.set(t / 1000, { executed: 0, failed: 0, blocked: 0 });
  for (const e of select(events, q, ['qontak_action_executed', 'qontak_action_failed']).filter(ofReason(q))) {
    const b = buckets.get((Math.floor(e.timestamp / size) * size) / 1000)!;
    if (e.event === 'qontak_action_executed') b.executed++;
    else if (isBlocked(e)) b.blocked++;
    else b.failed++;
  }
  return [...buckets].sort(([a], [b]) => a - b).map(([t, b]) => ({ t, ...b, executed: unlessReason(q, b.executed) }));
}

/** The durations of each bucket of durations-timeseries.sql (executed and failed calls, blocked ones left out), by bucket start (s). */
export function durationsByBucket(events: readonly ActionEvent[], q: TruthFilters): Map<number, number[]> {
  const size = (q.bucketMinutes ?? bucketMinutesFor(q.fromMs, q.toMs)) * MINUTE;
  const out = new Map<number, number[]>();
  for (const e of select(events, q, ['qontak_action_executed', 'qontak_action_failed'])) {
    if (isBlocked(e)) continue;
    const t = (Math.floor(e.timestamp / size) * size) / 1000;
    out.set(t, [...(out.get(t) ?? []), Number(f(e, 'duration_ms'))]);
  }
  return out;
}

/**
 * durations-timeseries.sql with the exact quantile (the element at floor(level * n), durations above 30 s as 30 s):
 * the SQL's sketch answers within `durationBounds` of it, which the truth test checks instead of equality.
 */
export function durationsTimeseries(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const exact = (values: number[], level: number) => Math.min(30_000, [...values].sort((a, b) => a - b)[Math.floor(level * values.length)]);
  return [...durationsByBucket(events, q)].sort(([a], [b]) => a - b).map(([t, values]) => ({ t, p50_ms: exact(values, 0.5), p95_ms: exact(values, 0.95) }));
}

export function adoptionFunnel(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const atFrom = configurationState(events, q, q.fromMs);
  const key = (e: ActionEvent) => `${agentOf(e)}|${f(e, 'node_type')}`;
  const configured = new Set([...atFrom].filter(([, e]) => e.event === 'qontak_action_configured').map(([k]) => k));
  for (const e of select(events, q, ['qontak_action_configured'])) configured.add(key(e));
  const invoked = new Set(select(events, q, ['qontak_action_invoked']).map(key));
  const executed = new Set(select(events, q, ['qontak_action_executed']).map(key));
  const byType = new Map<string, { configured: number; invoked: number; executed: number }>();
  for (const k of configured) {
    const nodeType = k.split('|')[2];
    const c = byType.get(nodeType) ?? { configured: 0, invoked: 0, executed: 0 };
    c.configured++;
    if (invoked.has(k)) {
      c.invoked++;
      if (executed.has(k)) c.executed++;
    }
    byType.set(nodeType, c);
  }
  return [...byType]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([nodeType, c]) => ({
      node_type: nodeType,
      configured_agents: c.configured,
      invoked_agents: c.invoked,
      executed_agents: c.executed,
      invoked_pct: pct(c.invoked, c.configured),
      executed_pct: pct(c.executed, c.invoked),
    }));
}

export function agentRetentionWeekly(events: readonly ActionEvent[], q: TruthFilters): Row[] {
  const first = mondayMs(q.fromMs);
  const last = mondayMs(q.toMs - 1);
  const weeks = new Map<string, Set<number>>();
  for (const e of select(events, q, ['qontak_action_invoked'], [first - 7 * DAY, last + 7 * DAY])) {
    const set = weeks.get(agentOf(e)) ?? new Set<number>();
    set.add(mondayMs(e.timestamp));
    weeks.set(agentOf(e), set);
  }
  if (weeks.size === 0) return [];
  const out: Row[] = [];
  for (let w = first; w <= last; w += 7 * DAY) {
    const sets = [...weeks.values()];
    const agents = sets.filter((s) => s.has(w)).length;
    const previous = sets.filter((s) => s.has(w - 7 * DAY)).length;
    const retained = sets.filter((s) => s.has(w) && s.has(w - 7 * DAY)).length;
    out.push({ week_start: new Date(w).toISOString().slice(0, 10), agents, previous_agents: previous, retained, retention_pct: pct(retained, previous) });
  }
  return out;
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
  'durations-timeseries': durationsTimeseries,
  'adoption-funnel': adoptionFunnel,
  'agent-retention-weekly': agentRetentionWeekly,
} as const;
