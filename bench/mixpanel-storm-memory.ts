/**
 * Memory of the Mixpanel consumer while Mixpanel answers every /import with 429: a backlog waits on the
 * real broker, the runner backs off per Mixpanel's advice (2 s doubling to 60 s, jitter), and RSS/heap
 * must stay flat — the sink holds one batch per partition, never the backlog. The default storm is 60 s so
 * `npm run bench` stays short; BENCH_STORM_S=600 runs the 10-minute one. After the
 * storm it prints how long the backlog took to drain and checks that every event arrived.
 *
 *   npx tsx bench/mixpanel-storm-memory.ts      # BENCH_EVENTS=200000 BENCH_STORM_S=60
 */
import { buildEvent, encodeEvent, NODE_TYPE_NAMES } from '../src/events/index.ts';
import { createMixpanelConsumer } from '../src/consumers/mixpanel/mixpanel-consumer.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import { startLocalBroker } from '../src/platform/kafka/local-broker.ts';
import { toRecord } from '../src/producers/record-batch.ts';
import { sendBacklog } from './lib/bench-kafka.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { FakeMixpanel } from '../test/fakes/fake-mixpanel.ts';

const N = Number(process.env.BENCH_EVENTS ?? 200_000);
const STORM_S = Number(process.env.BENCH_STORM_S ?? 60);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

const brokers = process.env.KAFKA_BROKERS?.split(',') ?? (await startLocalBroker({ dataDir: '.data/test', port: 19192, controllerPort: 19193 })).brokers;
const port = createPlatformaticKafka({ brokers, clientId: 'bench-mixpanel-storm' });
const suffix = `${Date.now().toString(36)}-${process.pid}`;
const topic = `bench-mp-events-${suffix}`;
const dlq = `bench-mp-dlq-${suffix}`;
const admin = port.admin();
await admin.ensureTopics([
  { topic, partitions: 3, replicationFactor: 1 },
  { topic: dlq, partitions: 1, replicationFactor: 1 },
]);
for (let i = 0; i < N; i += 10_000) {
  const messages = Array.from({ length: Math.min(10_000, N - i) }, (_, k) =>
    toRecord(encodeEvent(buildEvent({ event: 'qontak_action_invoked', source: 'agent-runtime', organization_id: `org-${(i + k) % 300}`, node_type: NODE_TYPE_NAMES[(i + k) % NODE_TYPE_NAMES.length], agent_id: `agent-${(i + k) % 2000}`, conversation_id: `conv-${i + k}` }))),
  );
  await sendBacklog(port, topic, messages, 'gzip');
}

const fake = await new FakeMixpanel({ tls: true, projectId: '1', projectToken: 'tok', serviceAccount: { username: 'svc', secret: 's' }, keepRecords: false }).start();
let storm = true;
fake.faultPlan = () => (storm ? { kind: 'status', status: 429 } : undefined);
const settings = loadConfig({}, {
  'mixpanel.apiHost': fake.url,
  'mixpanel.projectId': '1',
  'mixpanel.projectToken': 'tok',
  'mixpanel.serviceAccountUser': 'svc',
  'mixpanel.serviceAccountSecret': 's',
  'mixpanel.consumerGroup': `bench-mp-${suffix}`,
}).mixpanel;
const runner = createMixpanelConsumer(settings, { kafka: port, logger: silentLogger, topic, deadLetterTopic: dlq, ca: fake.caPem });

console.log(`Mixpanel consumer under a ${STORM_S} s 429 storm, ${N.toLocaleString()} events waiting on 3 partitions`);
const started = Date.now();
await runner.start();
const samples: number[] = [];
while (Date.now() - started < STORM_S * 1000) {
  await new Promise((r) => setTimeout(r, Math.min(10_000, STORM_S * 100)));
  global.gc?.();
  const m = process.memoryUsage();
  samples.push(m.rss);
  console.log(`  t=${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s  rss ${mb(m.rss).padStart(7)}  heap ${mb(m.heapUsed).padStart(7)}  429s answered ${fake.requests.faults}  sink retries ${runner.stats.retries}`);
}
storm = false;
const stormEnded = Date.now();
while (fake.accepted.size < N && Date.now() - stormEnded < 10 * 60_000) await new Promise((r) => setTimeout(r, 500));
console.log(`  storm over: ${fake.accepted.size.toLocaleString()} of ${N.toLocaleString()} events delivered ${((Date.now() - stormEnded) / 1000).toFixed(1)} s later (the next backoff step decides when)`);
console.log(`  rss min/max during the storm: ${mb(Math.min(...samples))} / ${mb(Math.max(...samples))}; after drain ${mb(process.memoryUsage().rss)}`);
await runner.stop();
await fake.stop();
await admin.deleteTopics([topic, dlq]).catch(() => undefined);
await port.close();
if (fake.accepted.size !== N) process.exitCode = 1;
