import { isDeepStrictEqual } from 'node:util';
import { createClickhouse } from '../../src/platform/clickhouse-client.ts';
import type { KafkaPort } from '../../src/platform/kafka/kafka-port.ts';
import { METRIC_NAMES } from '../../src/consumers/clickhouse/metric-queries.ts';
import { durationBounds, durationsByBucket, durationsOf, GROUND_TRUTH, type TruthFilters } from '../../src/workload/ground-truth.ts';
import type { RateThresholds } from '../../src/consumers/alerts/rate-thresholds.ts';
import type { Workload } from '../../src/workload/workload-generator.ts';
import type { MixpanelRecorder } from '../../src/simulators/mixpanel-recorder.ts';
import type { SoakWorkload } from './soak-load.ts';

/** The end-of-run checks: each names what it compared, so a failure says exactly what was lost or doubled. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const HOUR = 3600_000;

function sample<T>(items: Iterable<T>, n = 5): T[] {
  const out: T[] = [];
  for (const i of items) {
    if (out.length >= n) break;
    out.push(i);
  }
  return out;
}

/**
 * Every dashboard metric, unfiltered and with an organization / node_type filter, equals the ground truth
 * (`thresholds`: the alert rules the dashboard process loaded).
 */
export async function checkMetricsViaDashboard(baseUrl: string, workload: Workload, thresholds: RateThresholds): Promise<Check[]> {
  const { endMs, hours } = workload.options;
  const fromMs = endMs - hours * HOUR;
  const cases: TruthFilters[] = [
    { fromMs, toMs: endMs },
    { fromMs, toMs: endMs, organizationId: workload.organizations[1] },
    { fromMs, toMs: endMs, nodeType: 'qontak_chat_room_tag' },
  ];
  const checks: Check[] = [];
  for (const f of cases) {
    const label = f.organizationId ? `organization ${f.organizationId}` : f.nodeType ? `node_type ${f.nodeType}` : 'all';
    const wrong: string[] = [];
    for (const name of METRIC_NAMES) {
      const q = new URLSearchParams({ from: new Date(f.fromMs).toISOString(), to: new Date(f.toMs).toISOString() });
      if (f.organizationId) q.set('organization_id', f.organizationId);
      if (f.nodeType) q.set('node_type', f.nodeType);
      const res = await fetch(`${baseUrl}/api/metrics/${name}?${q}`, { signal: AbortSignal.timeout(120_000) });
      const body = (await res.json()) as { rows?: unknown[] };
      const truth = GROUND_TRUTH[name](workload.events, f, thresholds);
      if (res.ok && name === 'node-types' && Array.isArray(body.rows)) {
        // Percentiles come from hourly quantile states: counts exact, p50/p95 within the documented bounds
        // (as the ClickHouse truth test checks them).
        const rows = body.rows as Record<string, unknown>[];
        const counts = (r: Record<string, unknown>[]) => r.map(({ p50_ms: _p50, p95_ms: _p95, ...rest }) => rest);
        const outside = rows.flatMap((row) => {
          const durations = durationsOf(workload.events, f, String(row.node_type));
          if (durations.length === 0) return [];
          return (['p50_ms', 'p95_ms'] as const).flatMap((key) => {
            const [low, high] = durationBounds(durations, key === 'p50_ms' ? 0.5 : 0.95, workload.options.duplicateRate + 0.01);
            const v = Number(row[key]);
            return v >= low && v <= high ? [] : [`${row.node_type} ${key} ${v} outside [${low}, ${high}]`];
          });
        });
        if (!isDeepStrictEqual(counts(rows), counts(truth as Record<string, unknown>[])) || outside.length > 0) {
          wrong.push(`${name}: counts ${JSON.stringify(counts(rows)).slice(0, 300)} want ${JSON.stringify(counts(truth as Record<string, unknown>[])).slice(0, 300)}; ${outside.join('; ')}`);
        }
        continue;
      }
      if (res.ok && name === 'durations-timeseries' && Array.isArray(body.rows)) {
        // Percentiles per bucket: the buckets exact, p50/p95 within the documented bounds.
        const rows = body.rows as Record<string, unknown>[];
        const buckets = durationsByBucket(workload.events, f);
        const outside = rows.flatMap((row) =>
          (['p50_ms', 'p95_ms'] as const).flatMap((key) => {
            const values = buckets.get(Number(row.t));
            if (!values) return [`bucket ${row.t} has no call`];
            const [low, high] = durationBounds(values, key === 'p50_ms' ? 0.5 : 0.95, workload.options.duplicateRate + 0.01);
            const v = Number(row[key]);
            return v >= low && v <= high ? [] : [`${row.t} ${key} ${v} outside [${low}, ${high}]`];
          }),
        );
        if (!isDeepStrictEqual(rows.map((r) => r.t), (truth as Record<string, unknown>[]).map((r) => r.t)) || outside.length > 0) wrong.push(`${name}: ${outside.join('; ').slice(0, 300)}`);
        continue;
      }
      if (!res.ok || !isDeepStrictEqual(body.rows, truth)) {
        wrong.push(`${name}: HTTP ${res.status}, got ${JSON.stringify(body.rows ?? body).slice(0, 300)} want ${JSON.stringify(truth).slice(0, 300)}`);
      }
    }
    checks.push({ name: `dashboard API: all ${METRIC_NAMES.length} metrics equal ground truth (${label})`, ok: wrong.length === 0, detail: wrong.join('\n        ') });
  }
  return checks;
}

/** The recorder holds exactly the expected $insert_ids: none missing, none foreign, none refused. */
export function checkMixpanel(recorder: MixpanelRecorder, expected: Set<string>): Check {
  const missing = [...expected].filter((id) => !recorder.accepted.has(id));
  const foreign = [...recorder.accepted.keys()].filter((id) => !expected.has(id));
  const ok = missing.length === 0 && foreign.length === 0 && recorder.rejected.length === 0;
  return {
    name: `Mixpanel recorder: $insert_id set equals the ${expected.size} expected ids (Mixpanel dedupes redeliveries by $insert_id)`,
    ok,
    detail: `distinct ${recorder.accepted.size}; missing ${missing.length} ${JSON.stringify(sample(missing))}; foreign ${foreign.length} ${JSON.stringify(sample(foreign))}; rejected ${recorder.rejected.length} ${JSON.stringify(recorder.rejected.slice(0, 3))}`,
  };
}

export async function checkDeadLetters(kafka: KafkaPort, dlq: string): Promise<Check> {
  const admin = kafka.admin();
  try {
    const n = (await admin.partitionRanges(dlq)).reduce((a, p) => a + Number(p.high - p.low), 0);
    return { name: 'dead-letter topic empty (every event was valid)', ok: n === 0, detail: `${n} dead-lettered` };
  } finally {
    await admin.close();
  }
}

/**
 * Opens the clickhouse child's chDB folder (after the child stopped) and counts: per event name over
 * FINAL rows, distinct event_ids, the exact id set, and the hourly rollup the dashboards read.
 */
export async function checkClickhouseStore(dataDir: string, db: string, expected: SoakWorkload['expected']): Promise<{ checks: Check[]; figures: [string, number][] }> {
  const client = createClickhouse({ dataDir });
  try {
    const rows = async <T>(query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
    const final = await rows<{ event: string; n: number }>(`SELECT event, count() AS n FROM ${db}.action_events FINAL GROUP BY event`);
    const rollup = await rows<{ event: string; n: number }>(`SELECT event, uniqExactMerge(events) AS n FROM ${db}.action_counts_hourly GROUP BY event`);
    const [totals] = await rows<{ raw: number; uniq_ids: number; final: number }>(
      `SELECT (SELECT count() FROM ${db}.action_events) AS raw, (SELECT uniqExact(event_id) FROM ${db}.action_events) AS uniq_ids, (SELECT count() FROM ${db}.action_events FINAL) AS final`,
    );
    const want = Object.fromEntries([...expected.perEvent].sort());
    const asMap = (r: { event: string; n: number }[]) => Object.fromEntries(r.map((x) => [x.event, Number(x.n)]).sort());
    const ids = (await (await client.query({ query: `SELECT DISTINCT toString(event_id) FROM ${db}.action_events`, format: 'TabSeparated' })).text()).split('\n').filter(Boolean);
    const stored = new Set(ids);
    const missing = [...expected.ids].filter((id) => !stored.has(id));
    const foreign = ids.filter((id) => !expected.ids.has(id));
    return {
      checks: [
        { name: 'ClickHouse: count per event name (FINAL) equals produced distinct, exactly', ok: isDeepStrictEqual(asMap(final), want), detail: `got ${JSON.stringify(asMap(final))} want ${JSON.stringify(want)}` },
        { name: 'ClickHouse: hourly rollup uniqExact per event name equals produced distinct', ok: isDeepStrictEqual(asMap(rollup), want), detail: `got ${JSON.stringify(asMap(rollup))} want ${JSON.stringify(want)}` },
        { name: `ClickHouse: uniqExact(event_id) = FINAL rows = ${expected.ids.size} produced distinct`, ok: Number(totals.uniq_ids) === expected.ids.size && Number(totals.final) === expected.ids.size, detail: JSON.stringify(totals) },
        { name: 'ClickHouse: stored event_id set equals the produced set', ok: missing.length === 0 && foreign.length === 0, detail: `missing ${missing.length} ${JSON.stringify(sample(missing))}; foreign ${foreign.length} ${JSON.stringify(sample(foreign))}` },
      ],
      figures: [
        ['ClickHouse raw rows (before merges collapse duplicates)', Number(totals.raw)],
        ['ClickHouse distinct event_id', Number(totals.uniq_ids)],
      ],
    };
  } finally {
    await client.close();
  }
}
