import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickhouse } from '../../src/platform/clickhouse-client.ts';
import { runMigrations } from '../../src/consumers/clickhouse/migrations.ts';
import { toEventRow } from '../../src/consumers/clickhouse/event-row.ts';
import { generateWorkload } from '../../src/workload/workload-generator.ts';
import { sealClosedHours } from '../../src/consumers/clickhouse/seal-hours.ts';

const HOUR = 3600_000;
const COPIED = ['qontak_action_invoked', 'qontak_action_executed', 'qontak_action_failed', 'qontak_action_token_refreshed'];
export const loadAverage = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

/**
 * The dashboard benches' data: TOTAL events (28 days, 50 organizations, 1,000 agents, the generator's mix) bulk-loaded
 * into an embedded ClickHouse in database `bench_dash`, and every closed hour sealed as the consumer would. The
 * loaded folder (BENCH_QUERY_DATA_DIR, default <tmpdir>/actionpulse-bench-dash-<events>) is kept and reused by the
 * next run of either bench when its `loaded.json` marker says the load completed; BENCH_QUERY_FRESH=1 reloads.
 */
export async function loadDashboardData(TOTAL: number): Promise<{ client: ClickHouseClient; db: string; endMs: number; dataDir: string }> {
  const load = loadAverage;
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
    console.log(`dashboard bench data: REUSING ${dataDir} (${reuse.rows} rows loaded earlier, data ending ${new Date(endMs).toISOString()}); migrations run now: [${ran.join(', ')}] in ${((performance.now() - m0) / 1000).toFixed(0)} s, load ${load()}`);
  } else {
    console.log(`dashboard bench data: loading ${TOTAL} events (28 days, 50 orgs) into ${dataDir}, chDB in-process, load ${load()}`);
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

  return { client, db, endMs, dataDir };
}
