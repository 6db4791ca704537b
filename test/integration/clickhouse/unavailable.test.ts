import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { encodeEvent } from '../../../src/events/index.ts';
import { createClickhouse } from '../../../src/platform/clickhouse-client.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import type { KafkaPort as Port, RecordProducer } from '../../../src/platform/kafka/kafka-port.ts';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import { ClickhouseSink } from '../../../src/consumers/clickhouse/clickhouse-sink.ts';
import { consumerLag } from '../../../src/consumers/clickhouse/consumer-lag.ts';
import { startClickhouseConsumer } from '../../../src/consumers/clickhouse/clickhouse-consumer.ts';
import { runMigrations } from '../../../src/consumers/clickhouse/migrations.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { freshTopics, sendAll, testPort, uniqueName, waitFor } from '../../helpers/kafka.ts';

const DB = 'ap_outage';
const HOUR = 3600_000;
const fastRetry = { initialMs: 100, maxMs: 1000, multiplier: 2 };

describe('ClickHouse unavailable or slow: the sink pauses, retries, resumes, and loses nothing', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-outage-'));
  let port: Port;
  let producer: RecordProducer;
  let clickhouse: ClickHouseClient;
  const workload = generateWorkload({ seed: 7, endMs: Math.floor(Date.now() / HOUR) * HOUR, hours: 48, organizations: 3, agentsPerOrg: 4, invocations: 600 });
  const events = workload.events;

  beforeAll(async () => {
    port = await testPort();
    producer = port.producer({ acks: 'all', idempotent: true, codec: 'none' });
    clickhouse = createClickhouse({ dataDir });
    await runMigrations(clickhouse, { database: DB, ttlDays: 400 });
  });

  afterAll(async () => {
    await port?.close();
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function stored(ids: Set<string>): Promise<number> {
    const r = await clickhouse.query({ query: `SELECT DISTINCT toString(event_id) AS id FROM ${DB}.action_events`, format: 'JSONEachRow' });
    return (await r.json<{ id: string }>()).filter((row) => ids.has(row.id)).length;
  }
  const totalLag = async (groupId: string, topic: string) => [...(await consumerLag(port, groupId, topic)).values()].reduce((a, b) => a + b, 0);

  it('embedded engine: table gone, then too many parts; lag grows, nothing is written twice or lost', async () => {
    const { events: topic, dlq } = await freshTopics(port, 2);
    const groupId = uniqueName('ch-outage');
    const [first, second, third] = [events.slice(0, 300), events.slice(300, 700), events.slice(700, 1100)];
    await sendAll(producer, topic, first.map(encodeEvent));
    const consumer = await startClickhouseConsumer({
      kafka: port, clickhouse, database: DB, ttlDays: 400, topic, deadLetterTopic: dlq, logger: silentLogger,
      groupId, minBytes: 1, maxWaitTimeMs: 200, retry: fastRetry,
    });
    try {
      await waitFor(async () => (await stored(new Set(first.map((e) => e.event_id)))) === first.length, { timeoutMs: 60_000, what: 'first events stored' });

      // Break it for real: the table disappears (as after a botched migration or a lost disk).
      await clickhouse.command({ query: `DETACH TABLE ${DB}.action_events` });
      await sendAll(producer, topic, second.map(encodeEvent));
      await waitFor(() => consumer.runner.stats.retries >= 3, { timeoutMs: 60_000, what: 'retries while the table is gone' });
      await waitFor(async () => (await totalLag(groupId, topic)) === second.length, { timeoutMs: 30_000, what: 'lag equal to the unwritten events' });
      await clickhouse.command({ query: `ATTACH TABLE ${DB}.action_events` });
      await waitFor(async () => (await stored(new Set(second.map((e) => e.event_id)))) === second.length, { timeoutMs: 60_000, what: 'second batch after the table came back' });

      // Overload: ClickHouse refuses inserts with TOO_MANY_PARTS until merges catch up.
      await clickhouse.command({ query: `ALTER TABLE ${DB}.action_events MODIFY SETTING parts_to_throw_insert = 1` });
      const retriesBefore = consumer.runner.stats.retries;
      await sendAll(producer, topic, third.map(encodeEvent));
      await waitFor(() => consumer.runner.stats.retries >= retriesBefore + 3, { timeoutMs: 60_000, what: 'retries on too many parts' });
      expect(await totalLag(groupId, topic)).toBe(third.length);
      await clickhouse.command({ query: `ALTER TABLE ${DB}.action_events MODIFY SETTING parts_to_throw_insert = 3000` });
      await waitFor(async () => (await totalLag(groupId, topic)) === 0, { timeoutMs: 60_000, what: 'lag back to 0' });

      const all = new Set([...first, ...second, ...third].map((e) => e.event_id));
      expect(await stored(all)).toBe(all.size);
      const dupes = await clickhouse.query({ query: `SELECT count() - uniqExact(event_id) AS extra FROM ${DB}.action_events FINAL`, format: 'JSONEachRow' });
      expect((await dupes.json<{ extra: number }>())[0].extra).toBe(0);
      expect(consumer.runner.stats.deadLettered).toBe(0);
    } finally {
      await consumer.stop();
    }
  }, 300_000);

  it('server over HTTP hangs, then refuses connections; a restart against a healthy engine writes everything once', async () => {
    const { events: topic, dlq } = await freshTopics(port, 2);
    const groupId = uniqueName('ch-hang');
    const batch = events.slice(1100, 1500);
    await sendAll(producer, topic, batch.map(encodeEvent));

    // A ClickHouse that accepts connections and never answers: each insert must time out, not wedge the consumer.
    const hanging: ServerResponse[] = [];
    const server: Server = createServer((_req, res) => void hanging.push(res));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const httpClient = createClickhouse({ url, dataDir });
    const runOnce = async (client: ClickHouseClient, until: (r: ConsumerRunner) => boolean | Promise<boolean>, what: string) => {
      const runner = new ConsumerRunner({
        kafka: port, groupId, topic, deadLetterTopic: dlq, logger: silentLogger, retry: fastRetry, maxWaitTimeMs: 200,
        sink: new ClickhouseSink({ client, database: DB, logger: silentLogger, insertTimeoutMs: 1000 }),
      });
      await runner.start();
      try {
        await waitFor(() => until(runner), { timeoutMs: 90_000, intervalMs: 200, what });
      } finally {
        await runner.stop();
      }
      return runner;
    };

    const hung = await runOnce(httpClient, (r) => r.stats.retries >= 2, 'insert timeouts retried');
    expect(hanging.length).toBeGreaterThanOrEqual(2);
    expect(await totalLag(groupId, topic)).toBe(batch.length);
    for (const res of hanging) res.destroy();
    await new Promise<void>((done) => server.close(() => done()));

    // Now nothing listens on that port: connection refused, still retried, still nothing committed.
    const refused = await runOnce(httpClient, (r) => r.stats.retries >= 2, 'connection refusals retried');
    await httpClient.close();
    expect(hung.stats.written + refused.stats.written).toBe(0);
    expect(await totalLag(groupId, topic)).toBe(batch.length);
    expect(await stored(new Set(batch.map((e) => e.event_id)))).toBe(0);

    // ClickHouse is back: the same group resumes from its last commit and writes every event exactly once.
    await runOnce(clickhouse, async () => (await totalLag(groupId, topic)) === 0, 'caught up after the outage');
    expect(await stored(new Set(batch.map((e) => e.event_id)))).toBe(batch.length);
  }, 300_000);
});
