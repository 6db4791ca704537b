/**
 * Producer throughput of the Kafka port on @platformatic/kafka (platformatic-adapter.ts) against the project's
 * patched kafkajs and librdkafka (kcat), on the same events and the same broker: BENCH_PORT_EVENTS (default
 * 200,000) small JSON events (`qontak_action_executed`, keyed by organization, with the emitter's headers), in
 * batches of BENCH_PORT_BATCH (default 2,000, the emitter's default) sent one at a time as the emitter sends
 * them, acks=all, idempotent, into a fresh 6-partition topic per run. Codecs: BENCH_PORT_CODECS (default
 * "snappy,zstd"). Timed from the first send until the last acknowledgement. Needs Node >= 22.22
 * (@platformatic/kafka); KAFKA_BROKERS or the project's local broker.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEvent } from '../src/events/index.ts';
import { createKafkaClient } from '../src/platform/kafka/kafka-client.ts';
import type { Codec, OutgoingRecord } from '../src/platform/kafka/kafka-port.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { kafkajsProducerSettings } from '../src/platform/kafka/kafkajs-producer-settings.ts';
import { benchBrokers } from './lib/bench-kafka.ts';
import { sampleExecuted } from './lib/sample-events.ts';

const TOTAL = Number(process.env.BENCH_PORT_EVENTS ?? 200_000);
const BATCH = Number(process.env.BENCH_PORT_BATCH ?? 2000);
const CODECS = (process.env.BENCH_PORT_CODECS ?? 'snappy,zstd').split(',').filter(Boolean) as Codec[];
const PARTITIONS = 6;
const brokers = await benchBrokers();
const port = createPlatformaticKafka({ brokers, clientId: 'bench-port' });
const admin = port.admin();
const workDir = await mkdtemp(join(tmpdir(), 'bench-port-'));
const load = () => `load ${loadavg()[0].toFixed(1)}`;

const wire = Array.from({ length: TOTAL }, (_, i) => encodeEvent(sampleExecuted(i)));
const records: OutgoingRecord[] = wire.map((w) => ({ key: w.key, value: w.value, headers: w.headers, timestampMs: Number(w.timestamp ?? Date.now()) }));
const meanBytes = Math.round(wire.reduce((n, w) => n + w.value.length, 0) / TOTAL);

async function withTopic<T>(prefix: string, fn: (topic: string) => Promise<T>): Promise<T> {
  const topic = `${prefix}-${Date.now().toString(36)}`;
  await admin.ensureTopics([{ topic, partitions: PARTITIONS, replicationFactor: 1 }]);
  try {
    return await fn(topic);
  } finally {
    await admin.deleteTopics([topic]).catch(() => undefined);
  }
}

function report(who: string, codec: string, seconds: number): number {
  const rate = TOTAL / seconds;
  process.stdout.write(`${who} ${codec}: ${TOTAL} events (${meanBytes} B JSON) in ${seconds.toFixed(2)} s = ${Math.round(rate)} events/s (${load()})\n`);
  return rate;
}

async function platformatic(codec: Codec): Promise<number> {
  return withTopic('bench-port', async (topic) => {
    const producer = port.producer({ acks: 'all', idempotent: true, codec, retryForever: true });
    const started = performance.now();
    for (let i = 0; i < TOTAL; i += BATCH) {
      const r = await producer.send(topic, records.slice(i, i + BATCH));
      if (!r.ok) throw new Error(`send failed: ${r.reason} ${r.detail}`);
    }
    const seconds = (performance.now() - started) / 1000;
    await producer.close();
    return report('@platformatic/kafka (port)', codec, seconds);
  });
}

async function kafkajs(codec: Codec): Promise<number> {
  const kafka = await createKafkaClient({ brokers, clientId: 'bench-kafkajs' });
  return withTopic('bench-kafkajs', async (topic) => {
    const settings = kafkajsProducerSettings({ compression: codec, retryForever: true });
    const producer = kafka.producer(settings.config);
    await producer.connect();
    const messages = wire.map((w) => ({ key: w.key, value: w.value, headers: w.headers, timestamp: w.timestamp }));
    const started = performance.now();
    for (let i = 0; i < TOTAL; i += BATCH) await producer.send({ topic, ...settings.send, messages: messages.slice(i, i + BATCH) });
    const seconds = (performance.now() - started) / 1000;
    await producer.disconnect();
    return report('kafkajs 2.2.4 (patched, today)', codec, seconds);
  });
}

async function kcat(file: string, codec: Codec): Promise<number | undefined> {
  return withTopic('bench-kcat', async (topic) => {
    const h = wire[0].headers;
    const headers = ['schema_version', 'content-type', 'source', 'event'].flatMap((k) => (h[k] ? ['-H', `${k}=${h[k]}`] : []));
    const args = ['-P', '-b', brokers.join(','), '-t', topic, '-K', '\t', '-z', codec, '-X', 'acks=all', '-X', 'enable.idempotence=true', ...headers, '-l', file];
    const started = performance.now();
    const child = spawn('kcat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) {
      process.stdout.write(`kcat ${codec}: failed (${code}) ${stderr.slice(-300)}\n`);
      return undefined;
    }
    return report('kcat (librdkafka)', codec, seconds);
  });
}

const file = join(workDir, 'events.tsv');
const out = createWriteStream(file);
for (const w of wire) if (!out.write(`${w.key}\t${w.value.toString()}\n`)) await once(out, 'drain');
out.end();
await once(out, 'finish');

for (const codec of CODECS) {
  const ours = await platformatic(codec);
  const today = await kafkajs(codec);
  const theirs = await kcat(file, codec);
  process.stdout.write(`ratio port/kafkajs ${codec}: ${(ours / today).toFixed(2)}${theirs ? `, port/kcat: ${(ours / theirs).toFixed(2)}` : ''}\n`);
}
await admin.close();
await port.close();
await rm(workDir, { recursive: true, force: true });
process.exit(0);
