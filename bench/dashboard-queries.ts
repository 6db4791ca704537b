/**
 * Every dashboard query's time over a large table: bulk-loads BENCH_QUERY_EVENTS events (default 10,000,000;
 * 28 days, 50 organizations, 1,000 agents, the generator's mix incl. blocked calls, unknown outcomes and removed
 * configurations) into a fresh embedded ClickHouse, then runs every metric file three times per range and prints
 * the median. Ranges: the default 28 days to the minute, the last hour, and 7 days for one organization.
 *
 *   npx tsx bench/dashboard-queries.ts                 # 10M events (loading takes minutes)
 *   BENCH_QUERY_EVENTS=2000000 npx tsx bench/dashboard-queries.ts
 *
 * Loading 10M events takes many minutes on a busy 2-core machine, so the loaded engine folder is kept
 * (BENCH_QUERY_DATA_DIR, default <tmpdir>/actionpulse-bench-dash-<events>) and reused by the next run when its
 * `loaded.json` marker says the load completed; migrations added since run on it as on any upgraded install
 * (their backfills included). BENCH_QUERY_FRESH=1 reloads; BENCH_QUERY_KEEP=0 deletes the folder at the end.
 *
 * The machine may be shared: the load average is printed per range, and next to each wall time the CPU time the
 * query took (process.cpuUsage: the embedded engine's threads included), which a busy machine does not inflate.
 */
import { rmSync } from 'node:fs';
import { METRIC_NAMES, runMetric, type MetricFilters } from '../src/consumers/clickhouse/metric-queries.ts';
import { loadRateThresholds } from '../src/consumers/alerts/rate-thresholds.ts';
import { loadAverage, loadDashboardData } from './lib/dashboard-data.ts';

const HOUR = 3600_000;
const MIN = 60_000;
const TOTAL = Number(process.env.BENCH_QUERY_EVENTS ?? 10_000_000);
/** BENCH_QUERY_ONLY=node-types,organizations times only those metrics. */
const ONLY = process.env.BENCH_QUERY_ONLY?.split(',');
/** The shipped alert rules' thresholds: what `npm start` passes to the same queries. */
const thresholds = loadRateThresholds({ sloBurnRate: true });
const load = loadAverage;

async function main(): Promise<void> {
  const { client, db, endMs, dataDir } = await loadDashboardData(TOTAL);
  const now = endMs - 17 * MIN;
  const ranges: [string, MetricFilters][] = [
    ['28 days, to the minute', { fromMs: now - 28 * 24 * HOUR, toMs: now }],
    ['last hour', { fromMs: now - HOUR, toMs: now }],
    ['7 days, one organization', { fromMs: now - 7 * 24 * HOUR, toMs: now, organizationId: 'org-007' }],
  ];
  for (const [label, filters] of ranges) {
    console.log(`${label}: median of 3, wall ms and CPU ms (all threads of this process: the engine runs in it), load ${load()}`);
    for (const name of METRIC_NAMES.filter((n) => !ONLY || ONLY.includes(n))) {
      const times: number[] = [];
      const cpus: number[] = [];
      for (let i = 0; i < 3; i++) {
        const q0 = performance.now();
        const c0 = process.cpuUsage();
        await runMetric(client, db, name, filters, thresholds);
        const c = process.cpuUsage(c0);
        times.push(performance.now() - q0);
        cpus.push((c.user + c.system) / 1000);
      }
      const median = times.sort((a, b) => a - b)[1];
      const cpu = cpus.sort((a, b) => a - b)[1];
      console.log(`  ${name.padEnd(26)} ${median.toFixed(0).padStart(6)} ${cpu.toFixed(0).padStart(6)}${median > 300 ? '   > 300 ms' : ''}`);
    }
  }
  console.log(`load at the end ${load()}`);
  await client.close();
  if (process.env.BENCH_QUERY_KEEP === '0') rmSync(dataDir, { recursive: true, force: true });
}

await main();
