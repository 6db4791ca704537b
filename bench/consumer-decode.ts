/**
 * Consumer decode cost: the CPU a consumer process spends to get BENCH_DECODE_EVENTS (default 600,000) records
 * from the broker into the handler through the Kafka port (fetch, decompression, the library's record parsing,
 * the adapter's records, the commit after each batch), and then with the runner's contract check on every value
 * (`decodeEvent`: bounded JSON parse + validation) as every consumer does. The records are the emitter's: the
 * `qontak_action_executed` sample events with their five headers (traceparent included), keyed by organization,
 * produced beforehand (not timed) into a fresh 3-partition topic with BENCH_DECODE_CODEC (default zstd, as
 * bench/clickhouse-sink.ts). Each pass is a new consumer group reading the topic from the start, timed from the
 * moment it joined until the last record was handled; BENCH_DECODE_ROUNDS (default 2) alternate the two passes.
 * Prints wall time, process CPU (user + system, all threads) per pass, CPU per record and per 600k records,
 * with the load average.
 *
 *   npx tsx bench/consumer-decode.ts          # KAFKA_BROKERS or the project's local broker
 */
import { loadavg } from 'node:os';
import { decodeEvent, encodeEvent } from '../src/events/index.ts';
import type { Codec, IncomingBatch } from '../src/platform/kafka/kafka-port.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { toRecord } from '../src/producers/record-batch.ts';
import { benchBrokers, sendBacklog } from './lib/bench-kafka.ts';
import { sampleExecuted } from './lib/sample-events.ts';

const TOTAL = Number(process.env.BENCH_DECODE_EVENTS ?? 600_000);
const CODEC = (process.env.BENCH_DECODE_CODEC ?? 'zstd') as Codec;
const ROUNDS = Number(process.env.BENCH_DECODE_ROUNDS ?? 2);
const BATCH = Number(process.env.BENCH_DECODE_BATCH ?? 50_000);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

const brokers = await benchBrokers();
const port = createPlatformaticKafka({ brokers, clientId: 'bench-decode' });
const suffix = Date.now().toString(36);
const topic = `bench-decode-${suffix}`;
const admin = port.admin();
await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }]);

let bytes = 0;
for (let i = 0; i < TOTAL; i += 20_000) {
  const records = Array.from({ length: Math.min(20_000, TOTAL - i) }, (_, j) => {
    const r = toRecord(encodeEvent(sampleExecuted(i + j, true)));
    bytes += (r.value as Buffer).length;
    return r;
  });
  await sendBacklog(port, topic, records, CODEC);
}
console.log(`consumer-decode bench: ${TOTAL} records of ${Math.round(bytes / TOTAL)} B JSON + 5 headers, ${CODEC}, 3 partitions, ${brokers.join(',')}; load ${load()}`);

type Pass = 'port' | 'port + contract';

async function pass(kind: Pass, round: number): Promise<void> {
  let seen = 0;
  let valid = 0;
  let finished: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const consumer = port.groupConsumer({ groupId: `bench-decode-${suffix}-${round}-${kind === 'port' ? 'p' : 'c'}`, topics: [topic], startWhenNew: 'earliest', maxBatchRecords: BATCH });
  const handle = async (batch: IncomingBatch) => {
    for (const r of batch.records) {
      if (kind === 'port + contract') {
        if (decodeEvent(r.value).ok) valid++;
      } else if (r.value !== null) valid++;
    }
    seen += batch.records.length;
    if (seen >= TOTAL) finished();
  };
  await consumer.start(handle);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await all;
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  await consumer.stop();
  if (valid !== TOTAL) throw new Error(`${kind}: ${valid} of ${TOTAL} records valid`);
  console.log(
    `${kind.padEnd(16)} round ${round}: ${Math.round(TOTAL / (ms / 1000))} records/s, wall ${(ms / 1000).toFixed(2)} s, ` +
      `CPU ${(cpuMs / 1000).toFixed(2)} s = ${((cpuMs * 1000) / TOTAL).toFixed(2)} µs/record = ${((cpuMs / TOTAL) * 600).toFixed(2)} s per 600k (load ${load()})`,
  );
}

for (let round = 1; round <= ROUNDS; round++) {
  await pass('port', round);
  await pass('port + contract', round);
}
await admin.deleteTopics([topic]).catch(() => undefined);
await admin.close();
await port.close();
