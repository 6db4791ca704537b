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
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickhouse } from '../src/platform/clickhouse-client.ts';
import { runMigrations } from '../src/consumers/clickhouse/migrations.ts';
import { toEventRow } from '../src/consumers/clickhouse/event-row.ts';
import { METRIC_NAMES, runMetric, type MetricFilters } from '../src/consumers/clickhouse/metric-queries.ts';
import { loadRateThresholds } from '../src/consumers/alerts/rate-thresholds.ts';
import { generateWorkload } from '../src/workload/workload-generator.ts';
import { sealClosedHours } from '../src/consumers/clickhouse/seal-hours.ts';

const HOUR = 3600_000;
const MIN = 60_000;
const TOTAL = Number(process.env.BENCH_QUERY_EVENTS ?? 10_000_000);
/** BENCH_QUERY_ONLY=node-types,organizations times only those metrics. */
const ONLY = process.env.BENCH_QUERY_ONLY?.split(',');
/** The shipped alert rules' thresholds: what `npm start` passes to the same queries. */
const thresholds = loadRateThresholds({ sloBurnRate: true });
const COPIED = ['qontak_action_invoked', 'qontak_action_executed', 'qontak_action_failed', 'qontak_action_token_refreshed'];
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

async function main(): Promise<void> {
  const dataDir = process.env.BENCH_QUERY_DATA_DIR ?? join(tmpdir(), `actionpulse-bench-dash-${TOTAL}`);
  const marker = join(dataDir, 'loaded.json');
  if (process.env.BENCH_QUERY_FRESH === '1' || !existsSync(marker)) rmSync(dataDir, { recursive: true, force: true });
  const reuse = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as { endMs: number; rows: number }) : undefined;
  mkdirSync(dataDir, { recursive: true });
  const client = createClickhouse({ dataDir });
  const db = 'bench_dash';
  const m0 = performance.now();
  const ran = await runMigrations(client, { database: db, ttlDays: 400 });
  const endMs = reuse?.endMs ?? Math.floor(Date.now() / HOUR) * HOUR;
  if (reuse) {
    console.log(`dashboard-queries bench: REUSING ${dataDir} (${reuse.rows} rows loaded earlier, data ending ${new Date(endMs).toISOString()}); migrations run now: [${ran.join(', ')}] in ${((performance.now() - m0) / 1000).toFixed(0)} s, load ${load()}`);
  } else {
    console.log(`dashboard-queries bench: loading ${TOTAL} events (28 days, 50 orgs) into ${dataDir}, chDB in-process, load ${load()}`);
    const t0 = performance.now();
    // The generator costs ~100 µs per event in JS (minutes per million on a busy machine), so it makes one base
    // of up to BASE deliveries (its whole mix: heartbeats, configurations, blocked calls, unknown outcomes, 2%
    // duplicates), and the engine repeats the base's action events with fresh event_ids and shifted times until
    // TOTAL: same organizations, agents, node types and reason mix, denser in time. A duplicate pair stays a pair.
    const base = Math.min(TOTAL, 200_000);
    const rows = generateWorkload({ seed: 1, endMs, hours: 24 * 28, organizations: 50, agentsPerOrg: 20, invocations: Math.ceil(base / 2), duplicateRate: 0.02 })
      .deliveries.slice(0, base)
      .map(toEventRow);
    await client.command({ query: `CREATE TABLE ${db}.bench_base AS ${db}.action_events ENGINE = MergeTree ORDER BY tuple()` });
    await client.insert({ table: `${db}.bench_base`, values: rows, format: 'JSONEachRow' });
    await client.insert({ table: `${db}.action_events`, values: rows, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'dash-base' } });
    const startMs = endMs - 28 * 24 * HOUR;
    const span = 28 * 24 * HOUR;
    const actionRows = rows.filter((r) => COPIED.includes(String(r.event))).length;
    let loaded = rows.length;
    for (let copy = 1; loaded < TOTAL; ) {
      const n = Math.min(1_000_000, TOTAL - loaded);
      const copies = Math.ceil(n / actionRows);
      await client.command({
        query: `INSERT INTO ${db}.action_events SELECT * REPLACE (
            reinterpretAsUUID(concat(reinterpretAsString(cityHash64(event_id, c)), reinterpretAsString(cityHash64(c, event_id)))) AS event_id,
            fromUnixTimestamp64Milli(toInt64(${startMs} + ((toUnixTimestamp64Milli(timestamp) - ${startMs} + c * 7919113) % ${span} + ${span}) % ${span}), 'UTC') AS timestamp)
          FROM ${db}.bench_base ARRAY JOIN range(${copy}, ${copy + copies}) AS c
          WHERE event IN (${COPIED.map((e) => `'${e}'`).join(', ')})
          ORDER BY c LIMIT ${n}`,
        // Its own token: chDB keeps the last token on its session, and a repeated one drops the block.
        clickhouse_settings: { insert_deduplication_token: `dash-copy-${copy}` },
      });
      copy += copies;
      loaded += n;
      console.log(`  ${loaded} rows, ${((performance.now() - t0) / 1000).toFixed(0)} s, load ${load()}`);
    }
    await client.command({ query: `DROP TABLE ${db}.bench_base` });
    const stored = await client.query({ query: `SELECT count() AS n FROM ${db}.action_events`, format: 'JSONEachRow' });
    const rowsStored = (await stored.json<{ n: number }>())[0].n;
    writeFileSync(marker, JSON.stringify({ endMs, rows: rowsStored }));
    console.log(`loaded ${rowsStored} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s, load ${load()}`);
  }

  // What the ClickHouse consumer does every minute: seal the closed hours (all of them here, in calls of a week).
  const s0 = performance.now();
  let sealed = 0;
  for (let n; (n = await sealClosedHours(client, { database: db })) > 0; ) sealed += n;
  console.log(`sealed ${sealed} hours in ${((performance.now() - s0) / 1000).toFixed(1)} s, load ${load()}`);

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
