import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { BLOCKED_REASONS_SQL, UNKNOWN_OUTCOME_REASONS_SQL } from '../../events/index.ts';
import type { RateThresholds } from '../alerts/rate-thresholds.ts';

/**
 * The dashboard metrics are SQL files under `dashboards/sql/`, one per metric, so PMs, the web dashboard,
 * Grafana and the truth test all read the same definition. Each takes {db:Identifier}, {from}/{to}
 * (DateTime64(3, 'UTC'), [from, to) to the millisecond), {organization_id:String} and {node_type:String}
 * ('' = all); files where a failure reason means something also take {reason:String} ('' = all); files that show a threshold take it from the alert rules as a Nullable(Float64) parameter
 * (`{failure_rate_threshold}`, `{kill_switch_threshold}`, `{slo_allowed_failure_rate}`). Shared pieces are written once, in `dashboards/sql/include/`, and spliced in where a file says
 * `{{name}}` (see `expandIncludes`).
 */
export const SQL_DIR = resolve(join(dirname(fileURLToPath(import.meta.url)), '../../../dashboards/sql'));
const INCLUDE_DIR = join(SQL_DIR, 'include');

export const METRIC_NAMES = [
  'adoption',
  'execution-volume-weekly',
  'success-rate',
  'token-refresh-success',
  'failure-reasons',
  'node-types',
  'organizations',
  'failure-rate-1h',
  'actions-timeseries',
  'durations-timeseries',
  'adoption-funnel',
  'agent-retention-weekly',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface MetricFilters {
  /** Inclusive start, ms since epoch. */
  fromMs: number;
  /** Exclusive end, ms since epoch. */
  toMs: number;
  organizationId?: string;
  nodeType?: string;
  /**
   * A failure reason code ('' = all): only the calls that failed with it, in the files that take `{reason:String}`
   * (`takesReason`); the others answer for every call.
   */
  reason?: string;
  /** Only for the time series; default `bucketMinutesFor(fromMs, toMs)`. */
  bucketMinutes?: number;
}

export type MetricRow = Record<string, string | number | null>;

const MINUTE = 60_000;
const HOUR = 3600_000;

/** Chart bucket per range: about 60–200 points whatever the range, so an hour and 90 days both read. */
export function bucketMinutesFor(fromMs: number, toMs: number): number {
  const span = (toMs - fromMs) / MINUTE;
  for (const b of [1, 5, 15, 60, 360]) if (span / b <= 200) return b;
  return 1440;
}

/**
 * The part of [from, to) that whole-hour rollups can answer: [hfrom, hto), whole hours inside the range.
 * With buckets shorter than an hour (`minutesOnly`), no hour is (the chart needs minutes).
 */
export function rollupHours(fromMs: number, toMs: number, minutesOnly = false): { hfromMs: number; htoMs: number } {
  const [hfromMs, htoMs] = minutesOnly ? [fromMs, fromMs] : wholeUnits(fromMs, toMs, HOUR);
  return { hfromMs, htoMs };
}

/**
 * The whole minutes inside [from, to): [mfrom, mto), answered by the minute rollup where no sealed hour does;
 * the rest (under a minute at each end) is read from the raw table, to the millisecond.
 */
export function rollupMinutes(fromMs: number, toMs: number): { mfromMs: number; mtoMs: number } {
  const [mfromMs, mtoMs] = wholeUnits(fromMs, toMs, MINUTE);
  return { mfromMs, mtoMs };
}

/** The whole `unit`s inside [from, to), or the empty span [from, from) when none fits. */
function wholeUnits(fromMs: number, toMs: number, unit: number): [number, number] {
  const first = Math.ceil(fromMs / unit) * unit;
  const end = Math.floor(toMs / unit) * unit;
  return end > first ? [first, end] : [fromMs, fromMs];
}

let cache: Map<string, string> | undefined;

/**
 * `{{counts:event,event}}` → the counts of those events in [from, to) (include/counts.sql); `{{durations}}`
 * (include/durations.sql); `{{blocked_reasons}}`, `{{unknown_reasons}}` → the SQL lists of
 * src/events/outcome-class.ts, so no SQL file lists the reasons again.
 */
export function expandIncludes(sql: string, includes: Map<string, string>): string {
  return sql.replace(/\{\{(\w+)(?::([\w,]+))?\}\}/g, (_m, name: string, args: string | undefined) => {
    if (name === 'blocked_reasons') return BLOCKED_REASONS_SQL;
    if (name === 'unknown_reasons') return UNKNOWN_OUTCOME_REASONS_SQL;
    const body = includes.get(name);
    if (body === undefined) throw new Error(`dashboards/sql: unknown include {{${name}}}`);
    const events = (args ?? '').split(',').filter(Boolean).map((e) => `'${e}'`).join(', ');
    return expandIncludes(body.replaceAll('{{events}}', events), includes).trim();
  });
}

function stripComments(sql: string): string {
  return sql.split('\n').filter((line) => !line.trimStart().startsWith('--')).join('\n');
}

export function loadMetricSql(): Map<string, string> {
  if (cache) return cache;
  const includes = new Map<string, string>();
  for (const file of readdirSync(INCLUDE_DIR).filter((f) => f.endsWith('.sql'))) {
    includes.set(file.replace(/\.sql$/, ''), stripComments(readFileSync(join(INCLUDE_DIR, file), 'utf8')));
  }
  const files = new Map<string, string>();
  for (const file of readdirSync(SQL_DIR).filter((f) => f.endsWith('.sql'))) {
    files.set(file.replace(/\.sql$/, ''), expandIncludes(readFileSync(join(SQL_DIR, file), 'utf8'), includes));
  }
  for (const name of METRIC_NAMES) if (!files.has(name)) throw new Error(`dashboards/sql/${name}.sql is missing`);
  cache = files;
  return files;
}

/** '2026-01-05 10:00:00.000' — the text form a DateTime64(3, 'UTC') parameter takes. */
export function toChDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Whether a metric file narrows to a failure reason (`{reason:String}`); the others count every call. */
export function takesReason(name: MetricName): boolean {
  return loadMetricSql().get(name)!.includes('{reason:String}');
}

export function isMetricName(name: string): name is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(name);
}

/** Every query parameter a metric file may use, computed from the filters and the alert rules' thresholds. */
export function metricParams(database: string, filters: MetricFilters, thresholds: RateThresholds, name?: MetricName): Record<string, string | number | null> {
  // The rolling hour is always the 60 minutes before `to`, whatever `from` says.
  const f = name === 'failure-rate-1h' ? { ...filters, fromMs: filters.toMs - HOUR } : filters;
  const bucketMinutes = f.bucketMinutes ?? bucketMinutesFor(f.fromMs, f.toMs);
  // Only the time series have buckets shorter than the rollup's hour.
  const { hfromMs, htoMs } = rollupHours(f.fromMs, f.toMs, (name === 'actions-timeseries' || name === 'durations-timeseries') && bucketMinutes < 60);
  const { mfromMs, mtoMs } = rollupMinutes(f.fromMs, f.toMs);
  return {
    db: database,
    from: toChDateTime(f.fromMs),
    to: toChDateTime(f.toMs),
    hfrom: toChDateTime(hfromMs),
    hto: toChDateTime(htoMs),
    mfrom: toChDateTime(mfromMs),
    mto: toChDateTime(mtoMs),
    organization_id: f.organizationId ?? '',
    node_type: f.nodeType ?? '',
    reason: f.reason ?? '',
    bucket_seconds: bucketMinutes * 60,
    failure_rate_threshold: thresholds.failureRateAlert,
    kill_switch_threshold: thresholds.killSwitch,
    slo_allowed_failure_rate: thresholds.sloAllowedFailureRate,
  };
}

export async function runMetric(client: ClickHouseClient, database: string, name: MetricName, f: MetricFilters, thresholds: RateThresholds): Promise<MetricRow[]> {
  return (await runMetricTable(client, database, name, f, thresholds)).rows;
}

/** The rows with the file's column names in its order, which a CSV needs even when no row came back. */
export async function runMetricTable(client: ClickHouseClient, database: string, name: MetricName, f: MetricFilters, thresholds: RateThresholds): Promise<{ columns: string[]; rows: MetricRow[] }> {
  const query = loadMetricSql().get(name)!;
  const all = metricParams(database, f, thresholds, name);
  // Send only the parameters the file names: a server refuses unknown ones in some versions.
  const params = Object.fromEntries(Object.entries(all).filter(([k]) => query.includes(`{${k}:`)));
  const result = await client.query({ query, query_params: params, format: 'JSON' });
  const body = await result.json<MetricRow>();
  return { columns: body.meta?.map((c) => c.name) ?? [], rows: body.data };
}
