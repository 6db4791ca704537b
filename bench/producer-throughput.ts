/**
 * Producer throughput to a real broker: BENCH_PRODUCER_EVENTS (default 1,000,000) events through the
 * emitter (validation, batching, compression, acks=all, idempotent), timed from the first emit until the
 * last event is acknowledged. The emit loop backs off while the memory queue is deep, so this measures the
 * Kafka path, not the spool. Runs once per client/codec in BENCH_PRODUCER_RUNS
 * (default "kafkajs:gzip,kafkajs:lz4,confluent:gzip"; a client that is not installed is reported and skipped).
 * Target: ≥ 50k events/s with kafkajs from one process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleExecuted } from './lib/sample-events.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createKafkaClient } from '../src/platform/kafka/kafka-client.ts';
import { ensureTopics } from '../src/platform/kafka/topics.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { createEmitter } from '../src/producers/emitter.ts';
import { benchBrokers } from './lib/bench-kafka.ts';

const TOTAL = Number(process.env.BENCH_PRODUCER_EVENTS ?? 1_000_000);
const RUNS = (process.env.BENCH_PRODUCER_RUNS ?? 'kafkajs:gzip,kafkajs:lz4,confluent:gzip').split(',').map((r) => r.split(':') as [string, string]);
const brokers = await benchBrokers();
// Topics are managed through kafkajs: the librdkafka KafkaJS API lacks createTopics' waitForLeaders.
const adminKafka = await createKafkaClient({ brokers, clientId: 'bench-admin' });

async function run(client: string, compression: string): Promise<string> {
  const topic = `bench-producer-${Date.now().toString(36)}`;
  const spoolDir = await mkdtemp(join(tmpdir(), 'bench-producer-'));
  const config = loadConfig(process.env, {
    'kafka.client': client,
    'kafka.eventsTopic': topic,
    'producer.compression': compression,
    'producer.spillAfterMs': '60000',
    'spool.dir': spoolDir,
  });
  let kafka;
  try {
    kafka = await createKafkaClient({ brokers, clientId: 'bench-producer', client: config.kafka.client });
  } catch (err) {
    return `${client}:${compression}: skipped — ${(err as Error).message.split('\n')[0]}`;
  }
  const admin = adminKafka.admin();
  await ensureTopics(adminKafka, [{ topic, numPartitions: 6, replicationFactor: 1 }]);
  const emitter = await createEmitter(config, { kafka, logger: silentLogger });
  const started = performance.now();
  for (let i = 0; i < TOTAL; i++) {
    if (i % 1000 === 0) while (emitter.stats().queued > 20_000) await new Promise((r) => setTimeout(r, 2));
    emitter.emit(sampleExecuted(i));
  }
  const ok = await emitter.drained(600_000);
  const seconds = (performance.now() - started) / 1000;
  const stats = emitter.stats();
  await emitter.close();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await rm(spoolDir, { recursive: true, force: true });
  return (
    `${client}:${compression}: ${TOTAL} events in ${seconds.toFixed(1)} s = ${Math.round(TOTAL / seconds)} events/s ` +
    `(sent ${stats.sent}, spooled ${stats.spooled}, dropped ${stats.dropped}, all acknowledged ${ok})`
  );
}

const lines: string[] = [];
for (const [client, compression] of RUNS) {
  const line = await run(client, compression);
  lines.push(line);
  process.stdout.write(`${line}\n`);
}
const rate = (l: string | undefined) => Number(/= (\d+) events\/s/.exec(l ?? '')?.[1] ?? NaN);
const kjs = rate(lines.find((l) => l.startsWith('kafkajs:gzip')));
const ckjs = rate(lines.find((l) => l.startsWith('confluent:gzip')));
if (Number.isFinite(kjs) && Number.isFinite(ckjs)) process.stdout.write(`peer ratio confluent/kafkajs (gzip): ${(ckjs / kjs).toFixed(2)}\n`);
process.exit(0);
