import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The dashboard metrics are SQL files under `dashboards/sql/`, one per metric, so PMs, the web dashboard,
 * Grafana and the truth test all read the same definition. Each takes {db:Identifier}, {from}/{to}
 * (DateTime64(3, 'UTC'), [from, to)), {organization_id:String} and {node_type:String} ('' = all).
 */
export const SQL_DIR = resolve(join(dirname(fileURLToPath(import.meta.url)), '../../../dashboards/sql'));

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
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface MetricFilters {
  /** Inclusive start, ms since epoch. */
  fromMs: number;
  /** Exclusive end, ms since epoch. */
  toMs: number;
  organizationId?: string;
  nodeType?: string;
  /** Only for `actions-timeseries`. */
  bucketHours?: number;
}

export type MetricRow = Record<string, string | number | null>;

let cache: Map<string, string> | undefined;

export function loadMetricSql(): Map<string, string> {
  if (cache) return cache;
  const files = new Map<string, string>();
  for (const file of readdirSync(SQL_DIR).filter((f) => f.endsWith('.sql'))) {
    files.set(file.replace(/\.sql$/, ''), readFileSync(join(SQL_DIR, file), 'utf8'));
  }
  for (const name of METRIC_NAMES) if (!files.has(name)) throw new Error(`dashboards/sql/${name}.sql is missing`);
  cache = files;
  return files;
}

/** '2026-01-05 10:00:00.000' — the text form a DateTime64(3, 'UTC') parameter takes. */
export function toChDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export function isMetricName(name: string): name is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(name);
}

export async function runMetric(client: ClickHouseClient, database: string, name: MetricName, f: MetricFilters): Promise<MetricRow[]> {
  const query = loadMetricSql().get(name)!;
  const params: Record<string, string | number> = {
    db: database,
    from: toChDateTime(f.fromMs),
    to: toChDateTime(f.toMs),
    organization_id: f.organizationId ?? '',
    node_type: f.nodeType ?? '',
  };
  if (query.includes('{bucket_hours:')) params.bucket_hours = f.bucketHours ?? 1;
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<MetricRow>();
}
