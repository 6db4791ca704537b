import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes } from 'kafkajs';
import type { ClickHouseClient } from '@clickhouse/client';
import { encodeEvent } from '../../../src/events/index.ts';
import { createClickhouse } from '../../../src/platform/clickhouse-client.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { startClickhouseConsumer, type ClickhouseConsumer } from '../../../src/consumers/clickhouse/clickhouse-consumer.ts';
import { METRIC_NAMES, runMetric, type MetricFilters } from '../../../src/consumers/clickhouse/metric-queries.ts';
import { generateWorkload, type Workload } from '../../../src/workload/workload-generator.ts';
import { GROUND_TRUTH } from '../../../src/workload/ground-truth.ts';
import { freshTopics, sharedProducer, testBrokers, uniqueName, waitFor } from '../../helpers/kafka.ts';
import { sendWithJavaProducer } from './java-console-producer.ts';

const HOUR = 3600_000;
const DB = 'ap_truth';

// Own process (pool: forks) and own chDB folder.
describe('every dashboard metric equals the ground truth, through the real broker and sink', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-truth-'));
  const broker = sharedProducer();
  let clickhouse: ClickHouseClient;
  let topics: { events: string; dlq: string };
  let workload: Workload;
  const consumers: ClickhouseConsumer[] = [];

  beforeAll(async () => {
    topics = await freshTopics(broker.kafka, 3);
    clickhouse = createClickhouse({ dataDir });
    const endMs = Math.floor(Date.now() / HOUR) * HOUR;
    workload = generateWorkload({ seed: 20261125, endMs, hours: 24 * 10, organizations: 6, agentsPerOrg: 8, invocations: 5000 });
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
      kafka: broker.kafka,
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
    ];
    for (const filters of cases) {
      for (const name of METRIC_NAMES) {
        const actual = await runMetric(clickhouse, DB, name, filters);
        const truth = GROUND_TRUTH[name](workload.events, filters);
        expect({ name, filters, rows: actual }).toEqual({ name, filters, rows: truth });
      }
    }
  }

  it('ingests 5% duplicates, out-of-order and hours-late events in mixed compressions, and every metric is exact', async () => {
    const { deliveries, events } = workload;
    expect(deliveries.length - events.length).toBeGreaterThan(events.length * 0.04);
    const lateCount = deliveries.filter((e, i) => i > 0 && deliveries[i - 1].timestamp - e.timestamp > HOUR).length;
    expect(lateCount).toBeGreaterThan(0);

    // Different producers compress differently; the sink must read every codec.
    // LZ4 comes from Kafka's Java producer (kafkajs' lz4js frames use dependent blocks, which the broker refuses).
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, 'java-lz4', CompressionTypes.ZSTD] as const;
    const chunk = 700;
    for (let i = 0, n = 0; i < deliveries.length; i += chunk, n++) {
      const codec = codecs[n % codecs.length];
      const slice = deliveries.slice(i, i + chunk).map(encodeEvent);
      if (codec === 'java-lz4') {
        await sendWithJavaProducer(testBrokers(), topics.events, slice.map((m) => ({ key: m.key, value: m.value.toString() })), 'lz4');
      } else {
        await broker.producer.send({ topic: topics.events, acks: -1, compression: codec, messages: slice });
      }
    }
    // A message no contract accepts goes to the dead-letter topic and does not stop its partition.
    await broker.producer.send({ topic: topics.events, acks: -1, messages: [{ key: workload.organizations[0], value: '{"event":"qontak_action_executed"}' }] });

    const consumer = await startConsumer('ch-truth', 2000);
    await waitFor(async () => (await distinctStored()) === events.length, { timeoutMs: 180_000, intervalMs: 500, what: 'every event stored' });
    await waitFor(async () => [...(await consumer.lag()).values()].every((l) => l === 0), { timeoutMs: 60_000, what: 'lag back to 0' });
    expect(consumer.runner.stats.deadLettered).toBe(1);

    // Rows really were written more than once (duplicates reached the table), yet the metrics are exact.
    const raw = await clickhouse.query({ query: `SELECT count() AS n FROM ${DB}.action_events`, format: 'JSONEachRow' });
    expect((await raw.json<{ n: number }>())[0].n).toBeGreaterThanOrEqual(events.length);
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
    await expectMetricsEqualTruth();
  }, 400_000);
});
