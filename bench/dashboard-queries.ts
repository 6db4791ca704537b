/**
 * Every dashboard query's time over a large table: bulk-loads BENCH_QUERY_EVENTS events (default 10,000,000;
 * 28 days, 50 organizations, 1,000 agents, the generator's mix incl. blocked calls, unknown outcomes and removed
 * configurations) into a fresh embedded ClickHouse, then runs every metric file three times per range and prints
 * the median. Ranges: the default 28 days to the minute, the last hour, and 7 days for one organization.
 *
 *   npx tsx bench/dashboard-queries.ts                 # 10M events (loading takes minutes)
 *   BENCH_QUERY_EVENTS=2000000 npx tsx bench/dashboard-queries.ts
 *
 * The machine may be shared: the load average is printed at the start and the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickhouse } from '../src/platform/clickhouse-client.ts';
import { runMigrations } from '../src/consumers/clickhouse/migrations.ts';
import { toEventRow } from '../src/consumers/clickhouse/event-row.ts';
import { METRIC_NAMES, runMetric, type MetricFilters } from '../src/consumers/clickhouse/metric-queries.ts';
import { generateWorkload } from '../src/workload/workload-generator.ts';

const HOUR = 3600_000;
const MIN = 60_000;
const TOTAL = Number(process.env.BENCH_QUERY_EVENTS ?? 10_000_000);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-bench-dash-'));
  const client = createClickhouse({ dataDir });
  const db = 'bench_dash';
  await runMigrations(client, { database: db, ttlDays: 400 });
  const endMs = Math.floor(Date.now() / HOUR) * HOUR;
  console.log(`dashboard-queries bench: loading ${TOTAL} events (28 days, 50 orgs), chDB in-process, load ${load()}`);
  const t0 = performance.now();
  for (let loaded = 0, seed = 1; loaded < TOTAL; seed++) {
    const n = Math.min(500_000, TOTAL - loaded);
    const rows = generateWorkload({ seed, endMs, hours: 24 * 28, organizations: 50, agentsPerOrg: 20, invocations: Math.ceil(n / 2), duplicateRate: 0.02 })
      .deliveries.slice(0, n)
      .map(toEventRow);
    for (let i = 0; i < rows.length; i += 100_000) {
      // One dedupe token per chunk: chDB keeps per-query settings on its session (see bench/clickhouse-sink.ts).
      await client.insert({ table: `${db}.action_events`, values: rows.slice(i, i + 100_000), format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: `dash-${seed}-${i}` } });
    }
    loaded += rows.length;
  }
  const stored = await client.query({ query: `SELECT count() AS n FROM ${db}.action_events`, format: 'JSONEachRow' });
  console.log(`loaded ${(await stored.json<{ n: number }>())[0].n} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s, load ${load()}`);

  const now = endMs - 17 * MIN;
  const ranges: [string, MetricFilters][] = [
    ['28 days, to the minute', { fromMs: now - 28 * 24 * HOUR, toMs: now }],
    ['last hour', { fromMs: now - HOUR, toMs: now }],
    ['7 days, one organization', { fromMs: now - 7 * 24 * HOUR, toMs: now, organizationId: 'org-007' }],
  ];
  for (const [label, filters] of ranges) {
    console.log(`${label}: median of 3 (ms)`);
    for (const name of METRIC_NAMES) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const q0 = performance.now();
        await runMetric(client, db, name, filters);
        times.push(performance.now() - q0);
      }
      const median = times.sort((a, b) => a - b)[1];
      console.log(`  ${name.padEnd(26)} ${median.toFixed(0).padStart(6)}${median > 300 ? '   > 300 ms' : ''}`);
    }
  }
  console.log(`load at the end ${load()}`);
  await client.close();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
