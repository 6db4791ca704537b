import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { buildEvent, encodeEvent, type ActionEvent } from '../../../src/events/index.ts';
import { createClickhouse } from '../../../src/platform/clickhouse-client.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import type { SinkBatch, SinkResult } from '../../../src/consumers/sink.ts';
import { startClickhouseConsumer, type ClickhouseConsumer } from '../../../src/consumers/clickhouse/clickhouse-consumer.ts';
import { consumerLag } from '../../../src/consumers/clickhouse/consumer-lag.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { CollectingSink } from '../../helpers/collecting-sink.ts';
import { freshTopics, sharedProducer, uniqueName, waitFor } from '../../helpers/kafka.ts';

const DB = 'ap_pipeline';

describe('ClickHouse sink fast path: message bytes inserted as they are, pipelined per partition', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-pipeline-'));
  const broker = sharedProducer();
  let clickhouse: ClickHouseClient;
  const consumers: ClickhouseConsumer[] = [];

  beforeAll(async () => {
    clickhouse = createClickhouse({ dataDir });
  });

  afterAll(async () => {
    for (const c of consumers) await c.stop();
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores contract-valid JSON the engine cannot read as is (7.0, 1.7e12) through the serialised fallback, exactly', async () => {
    const topics = await freshTopics(broker.port, 1);
    const base = { source: 'test-suite', organization_id: 'org-fallback', node_type: 'qontak_crm_deal_create' as const, agent_id: 'agent-1', conversation_id: 'c-1' };
    const plain = Array.from({ length: 200 }, (_, i) => buildEvent({ ...base, event: 'qontak_action_executed', duration_ms: 100 + i, timestamp: 1_767_225_600_000 + i }));
    const odd = buildEvent({ ...base, event: 'qontak_action_executed', duration_ms: 7, timestamp: 1_767_225_700_000 });
    // Same event, valid for the contract (JSON.parse reads 7 and 1767225700000), but not in canonical form.
    const oddJson = JSON.stringify(odd).replace('"duration_ms":7', '"duration_ms":7.0').replace('1767225700000', '1.7672257e12');
    expect(oddJson).toContain('7.0');
    await broker.send(topics.events, [...plain.slice(0, 100).map(encodeEvent), { key: base.organization_id, value: oddJson }, ...plain.slice(100).map(encodeEvent)]);
    const consumer = await startClickhouseConsumer({ kafka: broker.port, clickhouse, database: DB, ttlDays: 4000, topic: topics.events, deadLetterTopic: topics.dlq, logger: silentLogger, groupId: uniqueName('ch-fallback'), minBytes: 1, maxWaitTimeMs: 200 });
    consumers.push(consumer);
    await waitFor(() => consumer.runner.stats.written === 201, { timeoutMs: 60_000, what: 'all 201 events written' });
    expect(consumer.runner.stats.deadLettered).toBe(0);
    const r = await clickhouse.query({
      query: `SELECT toString(event_id) AS id, duration_ms AS d, toUnixTimestamp64Milli(timestamp) AS ts FROM ${DB}.action_events FINAL WHERE organization_id = 'org-fallback' ORDER BY ts`,
      format: 'JSONEachRow',
    });
    const rows = await r.json<{ id: string; d: number; ts: number }>();
    const expected = [...plain, odd].sort((a, b) => a.timestamp - b.timestamp).map((e) => ({ id: e.event_id, d: (e as { duration_ms: number }).duration_ms, ts: e.timestamp }));
    expect(rows).toEqual(expected);
  });

  it('runner stopped while a batch is stuck in retry (later batches fetched meanwhile): nothing committed past it, a new runner delivers every event', async () => {
    const topics = await freshTopics(broker.port, 1);
    const events: ActionEvent[] = generateWorkload({ seed: 5, endMs: Date.UTC(2026, 0, 1), hours: 24, organizations: 1, agentsPerOrg: 4, invocations: 600 }).events;
    // Several sends = several batches: the first one fails until the runner stops, the later ones are fetched meanwhile.
    for (let i = 0; i < events.length; i += 150) await broker.send(topics.events, events.slice(i, i + 150).map(encodeEvent));
    const groupId = uniqueName('pipeline');
    const stuck = new StuckSink();
    const first = new ConsumerRunner({ kafka: broker.port, sink: stuck, groupId, topic: topics.events, deadLetterTopic: topics.dlq, logger: silentLogger, maxBatchEvents: 150, maxBytesPerPartition: 20_000, minBytes: 1, maxWaitTimeMs: 100, retry: { initialMs: 20, maxMs: 50, multiplier: 2 } });
    await first.start();
    await waitFor(() => stuck.attempts >= 5, { timeoutMs: 60_000, what: 'the first batch retried' });
    await first.stop();
    expect(first.stats.written).toBe(0);
    const lagAfterStop = await consumerLag(broker.port, groupId, topics.events);
    expect(lagAfterStop.get(0)).toBe(events.length); // nothing committed

    const healthy = new CollectingSink();
    const second = new ConsumerRunner({ kafka: broker.port, sink: healthy, groupId, topic: topics.events, deadLetterTopic: topics.dlq, logger: silentLogger, minBytes: 1, maxWaitTimeMs: 100 });
    await second.start();
    try {
      await waitFor(async () => (await consumerLag(broker.port, groupId, topics.events)).get(0) === 0, { timeoutMs: 60_000, intervalMs: 250, what: 'the second runner caught up' });
      expect(new Set(healthy.events.map((e) => e.event_id))).toEqual(new Set(events.map((e) => e.event_id)));
      expect(healthy.events.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id)); // in offset order, once each
    } finally {
      await second.stop();
    }
  });
});

/** Transient failure forever: the batch stays in the runner's retry loop until the runner stops. */
class StuckSink extends CollectingSink {
  attempts = 0;
  override async write(_batch: SinkBatch): Promise<SinkResult> {
    this.attempts++;
    return { status: 'retry', error: new Error('engine unavailable') };
  }
}
