/**
 * Producer throughput to a real broker: BENCH_PRODUCER_EVENTS (default 1,000,000) events through the
 * emitter (validation, batching, compression, acks=all, idempotent), timed from the first emit until the
 * last event is acknowledged. The emit loop backs off while the memory queue is deep, so this measures the
 * Kafka path, not the spool. Runs once per codec in BENCH_PRODUCER_CODECS (default "gzip,lz4"), and after
 * each, librdkafka itself on the same events: `kcat -P` (Debian's kcat) reading the same keys and JSON values
 * from a file into a topic of the same partitions, with the same codec, acks=all and idempotence, timed from
 * its start until it exits (it exits once every message is acknowledged). Prints ours ÷ kcat.
 * Target: ≥ 50k events/s from one process.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { encodeEvent } from '../src/events/index.ts';
import { sampleExecuted } from './lib/sample-events.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { createEmitter } from '../src/producers/emitter.ts';
import { benchBrokers } from './lib/bench-kafka.ts';

const TOTAL = Number(process.env.BENCH_PRODUCER_EVENTS ?? 1_000_000);
const CODECS = (process.env.BENCH_PRODUCER_CODECS ?? 'gzip,lz4').split(',').filter(Boolean);
const PARTITIONS = 6;
const brokers = await benchBrokers();
const port = createPlatformaticKafka({ brokers, clientId: 'bench-producer' });
const admin = port.admin();
const workDir = await mkdtemp(join(tmpdir(), 'bench-producer-'));
const load = () => `load ${loadavg()[0].toFixed(1)}`;

async function withTopic<T>(prefix: string, fn: (topic: string) => Promise<T>): Promise<T> {
  const topic = `${prefix}-${Date.now().toString(36)}`;
  await admin.ensureTopics([{ topic, partitions: PARTITIONS, replicationFactor: 1 }]);
  try {
    return await fn(topic);
  } finally {
    await admin.deleteTopics([topic]).catch(() => undefined);
  }
}

async function ours(compression: string): Promise<number> {
  return withTopic('bench-producer', async (topic) => {
    const spoolDir = await mkdtemp(join(workDir, 'spool-'));
    const config = loadConfig(process.env, {
      'kafka.eventsTopic': topic,
      'producer.compression': compression,
      'producer.spillAfterMs': '60000',
      'spool.dir': spoolDir,
    });
    const emitter = await createEmitter(config, { kafka: port, logger: silentLogger });
    const started = performance.now();
    for (let i = 0; i < TOTAL; i++) {
      if (i % 1000 === 0) while (emitter.stats().queued > 20_000) await new Promise((r) => setTimeout(r, 2));
      emitter.emit(sampleExecuted(i));
    }
    const ok = await emitter.drained(600_000);
    const seconds = (performance.now() - started) / 1000;
    const stats = emitter.stats();
    await emitter.close();
    const rate = TOTAL / seconds;
    process.stdout.write(
      `ours ${compression}: ${TOTAL} events in ${seconds.toFixed(1)} s = ${Math.round(rate)} events/s ` +
        `(sent ${stats.sent}, spooled ${stats.spooled}, dropped ${stats.dropped}, all acknowledged ${ok}; ${load()})\n`,
    );
    return rate;
  });
}

/** The bench's events as kcat reads them: one `key<TAB>json` line each (JSON has no raw tab or newline). */
async function writeEventsFile(): Promise<string> {
  const file = join(workDir, 'events.tsv');
  const out = createWriteStream(file);
  for (let i = 0; i < TOTAL; i++) {
    const m = encodeEvent(sampleExecuted(i));
    if (!out.write(`${m.key}\t${m.value.toString()}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

async function kcat(file: string, compression: string): Promise<number | undefined> {
  return withTopic('bench-kcat', async (topic) => {
    const sample = encodeEvent(sampleExecuted(0));
    // The headers every bench event carries (traceparent aside, which differs per event).
    const headers = ['schema_version', 'content-type', 'source', 'event'].flatMap((h) => ['-H', `${h}=${sample.headers[h]}`]);
    const args = ['-P', '-b', brokers.join(','), '-t', topic, '-K', '\t', '-z', compression, '-X', 'acks=all', '-X', 'enable.idempotence=true', ...headers, '-l', file];
    const started = performance.now();
    const child = spawn('kcat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit').catch((err: Error) => [err.message])) as [number | string];
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) {
      process.stdout.write(`kcat ${compression}: failed (${code}) ${stderr.slice(-500)}\n`);
      return undefined;
    }
    const rate = TOTAL / seconds;
    process.stdout.write(`kcat ${compression}: ${TOTAL} events in ${seconds.toFixed(1)} s = ${Math.round(rate)} events/s (${load()})\n`);
    return rate;
  });
}

const file = await writeEventsFile();
for (const compression of CODECS) {
  const ourRate = await ours(compression);
  const theirs = await kcat(file, compression);
  if (theirs) process.stdout.write(`ratio ours/kcat ${compression}: ${(ourRate / theirs).toFixed(2)}\n`);
}
await port.close();
await rm(workDir, { recursive: true, force: true });
process.exit(0);
