/**
 * Producer throughput of the Kafka port (platformatic-adapter.ts) against librdkafka (`kcat -P`, Debian's kcat),
 * on the same events and the same broker, codec by codec in the same run: BENCH_PORT_EVENTS (default 200,000)
 * small JSON events (`qontak_action_executed`, keyed by organization, with the emitter's headers). The port sends
 * them in batches of BENCH_PORT_BATCH (default 2,000, the emitter's default) one at a time, as the emitter does;
 * kcat reads the same keys and values (and the constant headers) from a file. Both acks=all and idempotent, each
 * into a fresh 6-partition topic, timed from the first send until the last acknowledgement (kcat: until it exits,
 * which it does once every message is acknowledged). Codecs: BENCH_PORT_CODECS (default all five), each run
 * BENCH_PORT_ROUNDS times (default 1), kcat and the port alternating. Prints per codec kcat's events/s, the
 * port's, and port ÷ kcat, with the load average. BENCH_PORT_KCAT=0 runs the port alone (for profiling).
 * Target: port ≥ 0.5× kcat for every codec. KAFKA_BROKERS or the project's local broker.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEvent } from '../src/events/index.ts';
import type { Codec } from '../src/platform/kafka/kafka-port.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { toRecord } from '../src/producers/record-batch.ts';
import { benchBrokers } from './lib/bench-kafka.ts';
import { sampleExecuted } from './lib/sample-events.ts';

const TOTAL = Number(process.env.BENCH_PORT_EVENTS ?? 200_000);
const BATCH = Number(process.env.BENCH_PORT_BATCH ?? 2000);
const CODECS = (process.env.BENCH_PORT_CODECS ?? 'none,gzip,snappy,lz4,zstd').split(',').filter(Boolean) as Codec[];
const ROUNDS = Number(process.env.BENCH_PORT_ROUNDS ?? 1);
const WITH_KCAT = process.env.BENCH_PORT_KCAT !== '0';
const PARTITIONS = 6;
const brokers = await benchBrokers();
const port = createPlatformaticKafka({ brokers, clientId: 'bench-port' });
const admin = port.admin();
const workDir = await mkdtemp(join(tmpdir(), 'bench-port-'));
const load = () => loadavg()[0].toFixed(1);

const wire = Array.from({ length: TOTAL }, (_, i) => encodeEvent(sampleExecuted(i)));
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

/** The emitter's path: records made from the encoded events inside the timed loop, as the emitter makes them. */
async function viaPort(codec: Codec): Promise<number> {
  return withTopic('bench-port', async (topic) => {
    const producer = port.producer({ acks: 'all', idempotent: true, codec, retryForever: true });
    const started = performance.now();
    for (let i = 0; i < TOTAL; i += BATCH) {
      const r = await producer.send(topic, wire.slice(i, i + BATCH).map(toRecord));
      if (!r.ok) throw new Error(`send failed: ${r.reason} ${r.detail}`);
    }
    const seconds = (performance.now() - started) / 1000;
    await producer.close();
    return TOTAL / seconds;
  });
}

async function viaKcat(file: string, codec: Codec): Promise<number | undefined> {
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
    return TOTAL / seconds;
  });
}

const file = join(workDir, 'events.tsv');
const out = createWriteStream(file);
for (const w of wire) if (!out.write(`${w.key}\t${w.value.toString()}\n`)) await once(out, 'drain');
out.end();
await once(out, 'finish');

process.stdout.write(`${TOTAL} events of ${meanBytes} B JSON, batches of ${BATCH}, ${PARTITIONS} partitions, acks=all, idempotent; load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
// A first short send warms the JIT and the connections, so the first codec is not charged for them.
await withTopic('bench-port-warm', async (topic) => {
  const producer = port.producer({ acks: 'all', idempotent: true, codec: 'none' });
  for (let i = 0; i < Math.min(TOTAL, 20_000); i += BATCH) await producer.send(topic, wire.slice(i, i + BATCH).map(toRecord));
  await producer.close();
});
for (let round = 1; round <= ROUNDS; round++) {
  for (const codec of CODECS) {
    const kcat = WITH_KCAT ? await viaKcat(file, codec) : undefined;
    const kcatLoad = load();
    const ours = await viaPort(codec);
    const row = `${codec.padEnd(6)} kcat ${kcat ? Math.round(kcat).toString().padStart(7) : '      -'} events/s (load ${kcatLoad})  port ${Math.round(ours).toString().padStart(7)} events/s (load ${load()})  port/kcat ${kcat ? (ours / kcat).toFixed(2) : '-'}`;
    process.stdout.write(`${row}\n`);
  }
}
await admin.close();
await port.close();
await rm(workDir, { recursive: true, force: true });
process.exit(0);
