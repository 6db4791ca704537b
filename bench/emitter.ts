/**
 * emit() cost under load: 10,000 calls/s for BENCH_SECONDS (default 10) against a real broker, each call
 * timed on its own. Prints p50/p99/p99.9/max in microseconds, and what the background sender did meanwhile.
 * Target: emit() p99 < 50 µs (the agent runtime must never wait on events) on a 2-core machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/platform/config.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { createEmitter } from '../src/producers/emitter.ts';
import { benchBrokers, percentile } from './lib/bench-kafka.ts';
import { sampleExecuted } from './lib/sample-events.ts';

const RATE = Number(process.env.BENCH_EMIT_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = 2000;


const base = loadConfig();
const brokers = await benchBrokers(base);
const topic = `bench-emit-${Date.now().toString(36)}`;
const spoolDir = await mkdtemp(join(tmpdir(), 'bench-emit-'));
const config = loadConfig(process.env, { 'kafka.eventsTopic': topic, 'spool.dir': spoolDir });
const port = createPlatformaticKafka({ brokers, clientId: 'bench-emitter' });
const admin = port.admin();
await admin.ensureTopics([{ topic, partitions: 6, replicationFactor: 1 }]);
const emitter = await createEmitter(config, { kafka: port, logger: silentLogger });

const total = RATE * SECONDS;
const lat = new Float64Array(total);
// Events are built ahead of time: the benchmark times emit(), not the caller's object construction.
const events = Array.from({ length: WARMUP + total }, (_, i) => sampleExecuted(i, true));
for (let i = 0; i < WARMUP; i++) emitter.emit(events[i]);
await emitter.drained(30_000);

const started = performance.now();
let done = 0;
while (done < total) {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
  for (; done < due; done++) {
    const e = events[WARMUP + done];
    const t0 = performance.now();
    emitter.emit(e);
    lat[done] = (performance.now() - t0) * 1000;
  }
  await new Promise((r) => setTimeout(r, 1));
}
const elapsed = (performance.now() - started) / 1000;
const flushed = await emitter.drained(60_000);
const stats = emitter.stats();
await emitter.close();
await admin.deleteTopics([topic]).catch(() => undefined);
await port.close();
await rm(spoolDir, { recursive: true, force: true });

lat.sort();
const fmt = (x: number) => x.toFixed(1);
process.stdout.write(
  `emit() at ${RATE}/s for ${elapsed.toFixed(1)} s (${total} calls, ${config.producer.compression}): ` +
    `p50 ${fmt(percentile(lat, 0.5))} µs, p99 ${fmt(percentile(lat, 0.99))} µs, p99.9 ${fmt(percentile(lat, 0.999))} µs, max ${fmt(lat[lat.length - 1])} µs; ` +
    `sent ${stats.sent}, spooled ${stats.spooled}, dropped ${stats.dropped}, flushed ${flushed}\n`,
);
