/**
 * Consumer scale-out: how fast one consumer group drains a backlog with 1 and with 2 processes
 * (`actionpulse start --only <group>`) sharing a 6-partition topic on a broker of the run's own.
 *
 * Per run: a fresh topic holding BENCH_EVENTS events (the emitter's wire format, gzip), the processes
 * start together, and once the group lists every process with partitions the committed-offset rate is
 * measured from there to lag 0 (process start-up is not counted). Groups:
 *   mixpanel    → a Mixpanel-compatible recorder in this process (no added latency)
 *   clickhouse  → each process its own embedded chDB folder (chDB is one folder per process; with a
 *                 ClickHouse server, CLICKHOUSE_URL, both would write one store)
 * The alerts group is not measured: one instance evaluates, the others stand by (leadership, not sharing).
 *
 *   npx tsx bench/consumer-scale-out.ts     # BENCH_EVENTS=200000 BENCH_GROUPS=mixpanel,clickhouse BENCH_PROCESSES=1,2
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DEFAULT_CLICKHOUSE_GROUP } from '../src/consumers/clickhouse/clickhouse-consumer.ts';
import { consumerLag } from '../src/consumers/clickhouse/consumer-lag.ts';
import { encodeEvent } from '../src/events/index.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { toRecord } from '../src/producers/record-batch.ts';
import { sendBacklog } from './lib/bench-kafka.ts';
import { MixpanelRecorder } from '../src/simulators/mixpanel-recorder.ts';
import { sampleExecuted } from './lib/sample-events.ts';
import { settledGroupMembers } from './lib/soak-groups.ts';
import { ConsumerChild, freePort, sleep, SoakBroker, until } from './lib/soak-processes.ts';

const N = Number(process.env.BENCH_EVENTS ?? 200_000);
const GROUPS = (process.env.BENCH_GROUPS ?? 'mixpanel,clickhouse').split(',') as ('mixpanel' | 'clickhouse')[];
const PROCESSES = (process.env.BENCH_PROCESSES ?? '1,2').split(',').map(Number);

const workDir = mkdtempSync(join(tmpdir(), 'ap-scale-'));
const broker = new SoakBroker({ dataDir: join(workDir, 'broker'), port: await freePort(), controllerPort: await freePort(), heapMb: 512 });
await broker.start();
const port = createPlatformaticKafka({ brokers: broker.brokers, clientId: 'bench-scale-out' });
const secret = randomBytes(16).toString('hex');
const recorder = await new MixpanelRecorder({ projectSecret: secret, keepRecords: false }).start();
const results: string[] = [];

async function backlog(topic: string): Promise<void> {
  const admin = port.admin();
  await admin.ensureTopics([{ topic, partitions: 6, replicationFactor: 1, settings: { 'retention.ms': '-1' } }]).finally(() => admin.close());
  for (let i = 0; i < N; i += 2000) {
    const messages = Array.from({ length: Math.min(2000, N - i) }, (_, j) => toRecord(encodeEvent(sampleExecuted(i + j))));
    await sendBacklog(port, topic, messages, 'gzip');
  }
}

async function run(group: 'mixpanel' | 'clickhouse', processes: number): Promise<string> {
  const topic = `scale-${group}-${processes}-${randomBytes(3).toString('hex')}`;
  await backlog(topic);
  const groupId = group === 'mixpanel' ? `scale-mixpanel-${randomBytes(3).toString('hex')}` : DEFAULT_CLICKHOUSE_GROUP;
  const env = { KAFKA_BROKERS: broker.brokers.join(','), KAFKA_EVENTS_TOPIC: topic, KAFKA_DLQ_TOPIC: `${topic}-dlq`, LOG_LEVEL: 'warn', MIXPANEL_API_HOST: recorder.url, MIXPANEL_API_SECRET: secret, MIXPANEL_CONSUMER_GROUP: groupId };
  const children = await Promise.all(
    Array.from({ length: processes }, async (_, i) => new ConsumerChild({ name: `${group}-${i + 1}`, only: group === 'clickhouse' ? ['clickhouse'] : ['mixpanel'], dataDir: join(workDir, `${topic}-${i + 1}`), env, httpPort: await freePort() })),
  );
  const committed = async () => N - [...(await consumerLag(port, groupId, topic)).values()].reduce((a, b) => a + b, 0);
  try {
    await Promise.all(children.map((c) => c.start(600_000)));
    // From the moment every process holds partitions: start-up and the first rebalance are not counted.
    await settledGroupMembers(port, groupId, topic, 600_000, processes);
    const t0 = performance.now();
    const c0 = await committed();
    let last = c0;
    await until(async () => (last = await committed()) >= N, 1_800_000, `${group} to drain ${N} events`, 250);
    const seconds = (performance.now() - t0) / 1000;
    const rate = Math.round((last - c0) / seconds);
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    return `${group.padEnd(10)} ${processes} process(es): ${rate} events/s (${last - c0} events in ${seconds.toFixed(1)} s measured; ${c0} done before every process held partitions; load average ${load})`;
  } finally {
    await Promise.all(children.map(async (c) => (await c.stop(30_000), c.close())));
    const admin = port.admin();
    await admin.deleteTopics([topic, `${topic}-dlq`]).catch(() => undefined);
    await admin.close();
  }
}

try {
  for (const group of GROUPS) {
    for (const p of PROCESSES) {
      const line = await run(group, p);
      results.push(line);
      process.stdout.write(`${line}\n`);
      await sleep(1000);
    }
  }
  process.stdout.write(`\nmachine: 2 cores shared with the other work running now; ${N} events per run, 6 partitions\n`);
} finally {
  await port.close();
  await recorder.stop();
  await broker.stop();
  rmSync(workDir, { recursive: true, force: true });
}
process.exit(0);
