import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { encodeEvent } from '../../../src/events/index.ts';
import { createClickhouse } from '../../../src/platform/clickhouse-client.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { startClickhouseConsumer, type ClickhouseConsumer } from '../../../src/consumers/clickhouse/clickhouse-consumer.ts';
import { METRIC_NAMES, runMetric, type MetricFilters } from '../../../src/consumers/clickhouse/metric-queries.ts';
import { sealClosedHours } from '../../../src/consumers/clickhouse/seal-hours.ts';
import { loadRateThresholds } from '../../../src/consumers/alerts/rate-thresholds.ts';
import { generateWorkload, type Workload } from '../../../src/workload/workload-generator.ts';
import { durationBounds, durationsByBucket, durationsOf, GROUND_TRUTH } from '../../../src/workload/ground-truth.ts';
import { createExecutor, fileBackend, migrateRegistry, setRegistryEnabled } from '../../../src/executors/index.ts';
import { openRegistryDb } from '../../../src/platform/registry-db.ts';
import { RecordingEmitter } from '../../../src/producers/emitter-port.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { freshTopics, sharedProducer, testBrokers, uniqueName, waitFor } from '../../helpers/kafka.ts';
import { sendWithJavaProducer } from './java-console-producer.ts';

const HOUR = 3600_000;
const MIN = 60_000;
const DB = 'ap_truth';
const THRESHOLDS = loadRateThresholds({ sloBurnRate: true });
/** 02:00 UTC three to four days before the end: the runtime's calls stay on one UTC day, the last one the next. */
const runtimeStart = (endMs: number) => Math.floor((endMs - 72 * HOUR) / (24 * HOUR)) * 24 * HOUR + 2 * HOUR;

/**
 * What the agent runtime itself reports through the executors' public API, at event times inside the workload:
 * automatic heartbeats (first call or configuration of the day), explicit ones for agents that call nothing,
 * configurations made and removed, and calls refused by the registry gate (blocked).
 */
async function runtimeEvents(startMs: number, dataDir: string): Promise<ActionEvent[]> {
  const db = await openRegistryDb({ memory: true });
  await migrateRegistry(db);
  await setRegistryEnabled(db, 'qontak_chat_room_assign', false, { actor: 'truth-test', reason: 'blocked calls in the workload' });
  const emitter = new RecordingEmitter();
  let clock = startMs;
  const executor = await createExecutor({
    db,
    jobBackend: fileBackend(join(dataDir, 'jobs')),
    emitter,
    logger: silentLogger,
    source: 'agent-runtime',
    clock: () => clock,
    migrate: false,
    crm: { baseUrl: 'http://127.0.0.1:9', tokenEncryptionKey: 'ab'.repeat(32), requestTimeoutMs: 100, maxRetries: 0, apiKey: '' },
  });
  const org = 'org-runtime';
  for (let i = 0; i < 6; i++) {
    clock += 37 * MIN;
    executor.recordConfigured({ organization_id: org, agent_id: 'agent-builder', node_type: 'qontak_chat_room_assign' });
    await executor.execute('qontak_chat_room_assign', { assign_type: 'auto' }, { organization_id: org, agent_id: `agent-${i % 3}`, conversation_id: `conv-rt-${i}` });
    executor.recordAgentActive({ organization_id: org, agent_id: 'agent-idle' });
  }
  clock += 26 * HOUR; // the next UTC day: the automatic heartbeat again
  await executor.execute('qontak_chat_room_assign', { assign_type: 'auto' }, { organization_id: org, agent_id: 'agent-0', conversation_id: 'conv-rt-next-day' });
  executor.recordUnconfigured({ organization_id: org, agent_id: 'agent-builder', node_type: 'qontak_chat_room_assign', change: 'removed' });
  await executor.close();
  await db.close();
  return emitter.events;
}

// Own process (pool: forks) and own chDB folder.
describe('every dashboard metric equals the ground truth, through the real broker and sink', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-truth-'));
  const broker = sharedProducer();
  let clickhouse: ClickHouseClient;
  let topics: { events: string; dlq: string };
  let workload: Workload;
  const consumers: ClickhouseConsumer[] = [];

  beforeAll(async () => {
    topics = await freshTopics(broker.port, 3);
    clickhouse = createClickhouse({ dataDir });
    const endMs = Math.floor(Date.now() / HOUR) * HOUR;
    workload = generateWorkload({ seed: 20261125, endMs, hours: 24 * 10, organizations: 6, agentsPerOrg: 8, invocations: 5000 });
    const fromRuntime = await runtimeEvents(runtimeStart(endMs), dataDir);
    workload.events.push(...fromRuntime);
    workload.events.sort((a, b) => a.timestamp - b.timestamp);
    workload.deliveries.push(...fromRuntime, ...fromRuntime.slice(0, 5));
    workload.organizations.push('org-runtime');
  });

  afterAll(async () => {
    for (const c of consumers) await c.stop();
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function distinctStored(): Promise<number> {
    const r = await clickhouse.query({ query: `SELECT uniqExact(event_id) AS n FROM ${DB}.action_events`, format: 'JSONEachRow' });
    return (await r.json<{ n: number }>())[0].n;
  }

  /** A sink consumer on the events topic in a group of its own, stopped after the suite. */
  async function startConsumer(groupPrefix: string, maxBatchEvents: number): Promise<ClickhouseConsumer> {
    const consumer = await startClickhouseConsumer({
      kafka: broker.port,
      clickhouse,
      database: DB,
      ttlDays: 400,
      topic: topics.events,
      deadLetterTopic: topics.dlq,
      logger: silentLogger,
      groupId: uniqueName(groupPrefix),
      maxBatchEvents,
      minBytes: 1,
      maxWaitTimeMs: 200,
      // The test seals hours itself, at known moments, so both read paths (sealed, unsealed) are checked.
      sealEveryMs: 0,
    });
    consumers.push(consumer);
    return consumer;
  }

  async function expectMetricsEqualTruth(): Promise<void> {
    const { endMs, hours } = workload.options;
    const startMs = endMs - hours * HOUR;
    const cases: MetricFilters[] = [
      { fromMs: startMs, toMs: endMs },
      { fromMs: startMs, toMs: endMs, organizationId: workload.organizations[1] },
      { fromMs: startMs, toMs: endMs, nodeType: 'qontak_chat_room_tag' },
      { fromMs: startMs, toMs: endMs, organizationId: workload.organizations[2], nodeType: 'qontak_crm_deal_create' },
      { fromMs: endMs - 3 * 24 * HOUR, toMs: endMs - 5 * HOUR, bucketMinutes: 1440 },
      { fromMs: startMs + 30 * HOUR, toMs: startMs + 31 * HOUR + 24 * HOUR, organizationId: workload.organizations[0] },
      // To the minute, not whole hours: partial hours at both ends; the rolling hour before `to` crosses a clock hour.
      { fromMs: endMs - 4 * 24 * HOUR + 17 * MIN, toMs: endMs - 29 * HOUR + 23 * MIN },
      { fromMs: endMs - 7 * HOUR - 41 * MIN, toMs: endMs - 6 * HOUR + 12 * MIN, nodeType: 'qontak_crm_deal_update' },
      // The executor-reported runtime: heartbeats, configurations made and removed, blocked calls.
      { fromMs: runtimeStart(endMs), toMs: runtimeStart(endMs) + 10 * HOUR, organizationId: 'org-runtime' },
      { fromMs: runtimeStart(endMs) - 47 * MIN, toMs: endMs, organizationId: 'org-runtime' },
      // A failure reason (a click in the failure-reasons table): the files that take one count only its calls; the
      // others must answer as without it. A failure, an unknown outcome over partial hours, a blocked call.
      { fromMs: startMs, toMs: endMs, reason: 'crm_server_error' },
      { fromMs: endMs - 4 * 24 * HOUR + 17 * MIN, toMs: endMs - 29 * HOUR + 23 * MIN, nodeType: 'qontak_crm_deal_create', reason: 'crm_create_outcome_unknown' },
      { fromMs: runtimeStart(endMs) - 47 * MIN, toMs: endMs, organizationId: 'org-runtime', reason: 'registry_disabled' },
    ];
    for (const filters of cases) {
      for (const name of METRIC_NAMES) {
        const actual = await runMetric(clickhouse, DB, name, filters, THRESHOLDS);
        const truth = GROUND_TRUTH[name](workload.events, filters, THRESHOLDS);
        if (name === 'node-types') {
          // Percentiles come from hourly quantile states: within the documented bounds, counts exact.
          const counts = (rows: typeof actual) => rows.map(({ p50_ms: _p50, p95_ms: _p95, ...rest }) => rest);
          expect({ name, filters, rows: counts(actual) }).toEqual({ name, filters, rows: counts(truth) });
          // Under a reason filter the percentiles (of every call) are not shown.
          if (filters.reason) expect(actual.map((r) => [r.p50_ms, r.p95_ms])).toEqual(truth.map(() => [null, null]));
          for (const row of filters.reason ? [] : actual) {
            const durations = durationsOf(workload.events, filters, String(row.node_type));
            if (durations.length === 0) continue;
            for (const [key, level] of [['p50_ms', 0.5], ['p95_ms', 0.95]] as const) {
              const [low, high] = durationBounds(durations, level, workload.options.duplicateRate + 0.01);
              expect(Number(row[key]), `${key} ${row.node_type} ${JSON.stringify(filters)}`).toBeGreaterThanOrEqual(low);
              expect(Number(row[key]), `${key} ${row.node_type} ${JSON.stringify(filters)}`).toBeLessThanOrEqual(high);
            }
          }
          continue;
        }
        if (name === 'durations-timeseries') {
          // The same quantile states per bucket: the buckets with calls exact, p50/p95 within the documented bounds.
          expect({ name, filters, t: actual.map((r) => r.t) }).toEqual({ name, filters, t: truth.map((r) => r.t) });
          const buckets = durationsByBucket(workload.events, filters);
          for (const row of actual) {
            for (const [key, level] of [['p50_ms', 0.5], ['p95_ms', 0.95]] as const) {
              const [low, high] = durationBounds(buckets.get(Number(row.t))!, level, workload.options.duplicateRate + 0.01);
              expect(Number(row[key]), `${key} at ${row.t} ${JSON.stringify(filters)}`).toBeGreaterThanOrEqual(low);
              expect(Number(row[key]), `${key} at ${row.t} ${JSON.stringify(filters)}`).toBeLessThanOrEqual(high);
            }
          }
          continue;
        }
        expect({ name, filters, rows: actual }).toEqual({ name, filters, rows: truth });
      }
    }
  }

  it('the workload holds what the metrics must handle: executor heartbeats, removed configurations, blocked calls, unknown outcomes', () => {
    const e = workload.events;
    expect(e.filter((x) => x.event === 'qontak_agent_active' && x.organization_id === 'org-runtime').map((x) => 'agent_id' in x && x.agent_id).sort()).toEqual([
      'agent-0', 'agent-0', 'agent-1', 'agent-2', 'agent-builder', ...Array(6).fill('agent-idle'),
    ]);
    expect(e.filter((x) => x.event === 'qontak_action_unconfigured').length).toBeGreaterThan(5);
    expect(e.filter((x) => x.event === 'qontak_action_failed' && x.reason === 'registry_disabled' && x.organization_id === 'org-runtime')).toHaveLength(7);
    expect(e.filter((x) => x.event === 'qontak_action_failed' && x.reason === 'crm_create_outcome_unknown').length).toBeGreaterThan(5);
  });

  it('ingests 5% duplicates, out-of-order and hours-late events in mixed compressions, and every metric is exact', async () => {
    const { deliveries, events } = workload;
    expect(deliveries.length - events.length).toBeGreaterThan(events.length * 0.04);
    const lateCount = deliveries.filter((e, i) => i > 0 && deliveries[i - 1].timestamp - e.timestamp > HOUR).length;
    expect(lateCount).toBeGreaterThan(0);

    // Different producers compress differently; the sink must read every codec.
    // LZ4 comes from Kafka's Java producer, a client other than ours.
    const codecs = ['none', 'gzip', 'snappy', 'java-lz4', 'zstd'] as const;
    const chunk = 700;
    for (let i = 0, n = 0; i < deliveries.length; i += chunk, n++) {
      const codec = codecs[n % codecs.length];
      const slice = deliveries.slice(i, i + chunk).map(encodeEvent);
      if (codec === 'java-lz4') {
        await sendWithJavaProducer(testBrokers(), topics.events, slice.map((m) => ({ key: m.key, value: m.value.toString() })), 'lz4');
      } else {
        await broker.send(topics.events, slice, codec);
      }
    }
    // A message no contract accepts goes to the dead-letter topic and does not stop its partition.
    await broker.send(topics.events, [{ key: workload.organizations[0], value: '{"event":"qontak_action_executed"}' }]);

    const consumer = await startConsumer('ch-truth', 2000);
    await waitFor(async () => (await distinctStored()) === events.length, { timeoutMs: 180_000, intervalMs: 500, what: 'every event stored' });
    await waitFor(async () => [...(await consumer.lag()).values()].every((l) => l === 0), { timeoutMs: 60_000, what: 'lag back to 0' });
    expect(consumer.runner.stats.deadLettered).toBe(1);

    // Rows really were written more than once (duplicates reached the table), yet the metrics are exact.
    const raw = await clickhouse.query({ query: `SELECT count() AS n FROM ${DB}.action_events`, format: 'JSONEachRow' });
    expect((await raw.json<{ n: number }>())[0].n).toBeGreaterThanOrEqual(events.length);
    // Unsealed: every whole minute from the exact minute states.
    await expectMetricsEqualTruth();
    // Sealed: whole hours from the counts finalized at sealing.
    expect(await sealClosedHours(clickhouse, { database: DB, maxHours: 10_000 })).toBeGreaterThan(200);
    await expectMetricsEqualTruth();
  }, 400_000);

  it('stays exact when Kafka redelivers everything (offsets reset: a second group re-reads the topic)', async () => {
    const replay = await startConsumer('ch-replay', 1500);
    await waitFor(async () => {
      const lag = await replay.lag();
      return lag.size === 3 && [...lag.values()].every((l) => l === 0);
    }, { timeoutMs: 180_000, intervalMs: 500, what: 'the replay consumer caught up' });
    expect(replay.runner.stats.written).toBe(workload.deliveries.length);
    expect(await distinctStored()).toBe(workload.events.length);
    // The replay inserted duplicates into sealed hours: those seals no longer match and are not read.
    await expectMetricsEqualTruth();
    expect(await sealClosedHours(clickhouse, { database: DB, maxHours: 10_000 })).toBeGreaterThan(0);
    await expectMetricsEqualTruth();
  }, 400_000);
});
