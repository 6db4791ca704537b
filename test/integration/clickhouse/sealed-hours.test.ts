import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickhouse } from '../../../src/platform/clickhouse-client.ts';
import { runMigrations } from '../../../src/consumers/clickhouse/migrations.ts';
import { toEventRow } from '../../../src/consumers/clickhouse/event-row.ts';
import { insertSettings } from '../../../src/consumers/clickhouse/clickhouse-sink.ts';
import { runMetric, type MetricFilters, type MetricName } from '../../../src/consumers/clickhouse/metric-queries.ts';
import { sealClosedHours } from '../../../src/consumers/clickhouse/seal-hours.ts';
import { buildEvent, type ActionEvent } from '../../../src/events/index.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { GROUND_TRUTH } from '../../../src/workload/ground-truth.ts';
import { loadRateThresholds } from '../../../src/consumers/alerts/rate-thresholds.ts';

const HOUR = 3600_000;
const MIN = 60_000;
const DB = 'ap_seal';
const THRESHOLDS = loadRateThresholds({ sloBurnRate: true });
const COUNTED: MetricName[] = ['success-rate', 'failure-reasons', 'organizations', 'token-refresh-success', 'execution-volume-weekly', 'actions-timeseries', 'failure-rate-1h'];

/** Sealed hours meet what can still reach them: late new events, duplicates, a seal that crashed half-way. */
describe('sealed hourly counts stay exact', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-seal-'));
  let clickhouse: ClickHouseClient;
  const endMs = Math.floor(Date.now() / HOUR) * HOUR;
  const workload = generateWorkload({ seed: 77, endMs, hours: 12, organizations: 3, agentsPerOrg: 4, invocations: 1500 });
  const stored = new Map<string, ActionEvent>();
  let token = 0;

  async function insert(events: ActionEvent[]): Promise<void> {
    await clickhouse.insert({ table: `${DB}.action_events`, values: events.map(toEventRow), format: 'JSONEachRow', clickhouse_settings: insertSettings(`seal-test-${token++}`) });
    for (const e of events) stored.set(e.event_id, e);
  }

  async function expectExact(): Promise<void> {
    const truth = [...stored.values()].sort((a, b) => a.timestamp - b.timestamp);
    const cases: MetricFilters[] = [
      { fromMs: endMs - 12 * HOUR, toMs: endMs },
      { fromMs: endMs - 9 * HOUR + 13 * MIN + 1500, toMs: endMs - 2 * HOUR - 7 * MIN - 250, organizationId: workload.organizations[1] },
      { fromMs: endMs - 6 * HOUR, toMs: endMs - 5 * HOUR + 30 * MIN, bucketMinutes: 5 },
    ];
    for (const filters of cases) {
      for (const name of COUNTED) {
        expect({ name, filters, rows: await runMetric(clickhouse, DB, name, filters, THRESHOLDS) }).toEqual({ name, filters, rows: GROUND_TRUTH[name](truth, filters, THRESHOLDS) });
      }
    }
  }

  beforeAll(async () => {
    clickhouse = createClickhouse({ dataDir });
    await runMigrations(clickhouse, { database: DB, ttlDays: 400 });
    await insert(workload.deliveries);
  });

  afterAll(async () => {
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads sealed hours, then leaves out an hour that got a late event or a duplicate until it is sealed again', async () => {
    expect(await sealClosedHours(clickhouse, { database: DB, nowMs: endMs + HOUR })).toBeGreaterThanOrEqual(12);
    expect(await sealClosedHours(clickhouse, { database: DB, nowMs: endMs + HOUR })).toBe(0);
    await expectExact();

    const executed = workload.events.find((e) => e.event === 'qontak_action_executed' && e.timestamp < endMs - 4 * HOUR && e.timestamp > endMs - 8 * HOUR)!;
    const late = buildEvent({ ...executed, event_id: '0190f5a8-0000-7000-8000-00000000beef', timestamp: executed.timestamp + 1 } as Parameters<typeof buildEvent>[0]);
    await insert([late, executed]);
    await expectExact();
    // Only the one hour those rows went to needs a new seal.
    expect(await sealClosedHours(clickhouse, { database: DB, nowMs: endMs + HOUR })).toBe(1);
    await expectExact();
  }, 300_000);

  it('never reads the counts of a seal that was not recorded', async () => {
    // A sealer that crashed between writing its counts and recording the seal: doubled rows if they were read.
    await clickhouse.command({ query: `INSERT INTO ${DB}.action_counts_sealed SELECT * REPLACE (generateUUIDv4() AS seal_id) FROM ${DB}.action_counts_sealed` });
    await expectExact();
  }, 300_000);
});
