/**
 * Alert evaluator figures (printed, never asserted):
 *   1. engine throughput: events/s through dedupe + minute windows + rule evaluation (target ≥ 100k/s)
 *   2. memory with 10k organizations × 7 node_types active
 *   3. state rebuild from Kafka for 1M events in the window (target < 30 s), and the events/s of the
 *      live Kafka path — needs a broker: KAFKA_BROKERS, or the local test broker on 127.0.0.1:19192
 *   4. breach → Slack delivery latency (target p99 < 10 s) against the local fake Slack
 *
 *   npx tsx bench/alerts-evaluator.ts [--events 1000000] [--no-kafka]
 */
import { randomBytes } from 'node:crypto';
import { AlertEngine } from '../src/consumers/alerts/alert-engine.ts';
import { AlertEvaluator } from '../src/consumers/alerts/alert-evaluator.ts';
import { loadRulesFile } from '../src/consumers/alerts/alert-rules.ts';
import { migrateAlerts } from '../src/consumers/alerts/alert-store-schema.ts';
import { SlackNotifier } from '../src/consumers/alerts/notifiers/slack-notifier.ts';
import { buildEvent, encodeEvent, NODE_TYPE_NAMES, type ActionEvent } from '../src/events/index.ts';
import { migrateRegistry } from '../src/executors/registry-schema.ts';
import { createKafkaClient } from '../src/platform/kafka/kafka-client.ts';
import { ensureTopics } from '../src/platform/kafka/topics.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { openRegistryDb } from '../src/platform/registry-db.ts';
import { FakeSlack } from '../test/fakes/fake-slack.ts';

const args = process.argv.slice(2);
const total = Number(args[args.indexOf('--events') + 1]) || 1_000_000;
const withKafka = !args.includes('--no-kafka');
const rules = loadRulesFile();
const MIN = 60_000;

let seq = 0;
function eventAt(ts: number, i: number, orgs: number): ActionEvent {
  seq++;
  const org = `org-${i % orgs}`;
  const nodeType = NODE_TYPE_NAMES[Math.floor(i / orgs) % NODE_TYPE_NAMES.length];
  const hex = ts.toString(16).padStart(12, '0');
  const r = seq.toString(16).padStart(15, '0');
  const event_id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${r.slice(0, 3)}-8${r.slice(3, 6)}-${r.slice(6).padStart(12, '0')}`;
  const base = { event_id, timestamp: ts, source: 'bench', organization_id: org, agent_id: 'agent-1', conversation_id: 'conv-1' };
  const k = i % 20;
  if (k === 0) return buildEvent({ ...base, event: 'qontak_action_failed', node_type: nodeType, reason: 'crm_server_error', duration_ms: 10 });
  if (k === 1) return buildEvent({ event: 'qontak_action_token_refreshed', event_id, timestamp: ts, source: 'bench', organization_id: org, outcome: i % 40 === 1 ? 'failed' : 'success' });
  if (k < 11) return buildEvent({ ...base, event: 'qontak_action_invoked', node_type: nodeType });
  return buildEvent({ ...base, event: 'qontak_action_executed', node_type: nodeType, duration_ms: 30 });
}

function timeline(n: number, start: number, spanMs: number, orgs: number): ActionEvent[] {
  const out: ActionEvent[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = eventAt(start + Math.floor((i / n) * spanMs), i, orgs);
  return out;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// 2. (measured first, in a clean heap) Memory with 10k organizations × 7 node_types active in the windows.
{
  const orgs = 10_000;
  const start = Math.floor((Date.now() - 3 * 3600_000) / MIN) * MIN;
  // every (org, node_type) pair appears; token refresh failures spread over all orgs
  const events = timeline(orgs * NODE_TYPE_NAMES.length * 6, start, 30 * MIN, orgs);
  // and every organization has token-refresh failures in the 15-min window (rule 2 keeps a series per org)
  for (let o = 0; o < orgs; o++) events.push(buildEvent({ event: 'qontak_action_token_refreshed', timestamp: start + (o % 1800) * 1000, source: 'bench', organization_id: `org-${o}`, outcome: 'failed' }));
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const engine = new AlertEngine(rules, { bucketMs: MIN });
  for (const e of events) engine.ingest(e, 0);
  global.gc?.();
  const after = process.memoryUsage().heapUsed;
  console.log(
    `alerts memory: ${orgs.toLocaleString()} orgs × ${NODE_TYPE_NAMES.length} node_types, ${events.length.toLocaleString()} events in a 30-min span: heap +${mb(after - before)} ` +
      `(${engine.seriesCount().toLocaleString()} scope series, dedupe ids included)${global.gc ? '' : ' [run with --expose-gc for exact figures]'}`,
  );
}

// 1. Engine throughput (pure: the database sees only transitions, so it is not in this path).
{
  const start = Math.floor((Date.now() - 3 * 3600_000) / MIN) * MIN;
  const events = timeline(total, start, 90 * MIN, 10_000);
  const engine = new AlertEngine(rules, { bucketMs: MIN });
  const t0 = process.hrtime.bigint();
  let transitions = 0;
  for (let i = 0; i < events.length; i++) {
    engine.ingest(events[i], i % 6);
    if (i % 5000 === 0 || i === events.length - 1) {
      for (let p = 0; p < 6; p++) engine.watermark.setCaughtUp(p, i === events.length - 1);
      for (const b of engine.pendingBuckets()) {
        for (const t of engine.evaluate(b)) {
          transitions++;
          engine.commit({ ...t.next, version: t.prev.version + 1 });
        }
      }
    }
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`alerts engine: ${total.toLocaleString()} events in ${s.toFixed(2)} s = ${Math.round(total / s).toLocaleString()} events/s (${transitions} transitions, ${engine.stats.evaluations.toLocaleString()} scope evaluations)`);
}

if (!withKafka) process.exit(0);

// 3 + 4. Through the real broker and a registry database (PostgreSQL if DATABASE_URL, else PGlite in memory).
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19192').split(',');
const kafka = await createKafkaClient({ brokers, clientId: 'bench-alerts' });
const topic = `bench-alerts-${randomBytes(4).toString('hex')}`;
await ensureTopics(kafka, [{ topic, numPartitions: 6, replicationFactor: 1 }]);
const schema = `bench_alerts_${randomBytes(3).toString('hex')}`;
if (process.env.DATABASE_URL) {
  const setup = await openRegistryDb({ url: process.env.DATABASE_URL });
  await setup.query(`CREATE SCHEMA ${schema}`);
  await setup.close();
}
const db = process.env.DATABASE_URL
  ? await openRegistryDb({ url: `${process.env.DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` })
  : await openRegistryDb({ memory: true });
await migrateRegistry(db);
await migrateAlerts(db);
const slack = new FakeSlack({ rateLimit: false });
await slack.start();
const start = Math.floor((Date.now() - 2 * 3600_000) / MIN) * MIN;
const events = timeline(total, start, 60 * MIN, 10_000);
const producer = kafka.producer();
await producer.connect();
let t0 = Date.now();
for (let i = 0; i < events.length; i += 10_000) await producer.send({ topic, acks: 1, messages: events.slice(i, i + 10_000).map((e) => encodeEvent(e)) });
console.log(`alerts kafka: produced ${total.toLocaleString()} events in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
let now = start + 62 * MIN;
const ev = new AlertEvaluator({
  kafka,
  db,
  rules,
  eventsTopic: topic,
  controlTopic: `${topic}-ctl`,
  groupId: `${topic}-alerts`,
  timeScale: 1,
  notifiers: { 'slack-bot': new SlackNotifier({ name: 'slack-bot', webhookUrl: slack.webhook('bot') }) },
  routes: { 'bot-oncall': ['slack-bot'], 'crm-oncall': ['slack-bot'] },
  dashboardBaseUrl: 'http://dash',
  killSwitch: { dryRun: true, maxPer24h: 2 },
  logger: silentLogger,
  clock: () => now,
  idleAdvanceMs: 500,
});
t0 = Date.now();
await ev.start();
await ev.rebuiltAndLeading();
const rebuildS = ev.stats.rebuildMs / 1000;
console.log(
  `alerts rebuild: ${ev.stats.rebuildEvents.toLocaleString()} events rebuilt in ${rebuildS.toFixed(1)} s = ${Math.round(ev.stats.rebuildEvents / rebuildS).toLocaleString()} events/s through Kafka (leader election + rebuild ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
);

// Breach → Slack: 20 breaches (one new org each, 6 refresh failures), produced live; latency from produce to receipt.
now = start + 62 * MIN;
const latencies: number[] = [];
for (let k = 0; k < 20; k++) {
  const org = `breach-${k}`;
  const base = now + k * 2 * MIN;
  const burst = Array.from({ length: 6 }, (_, i) =>
    buildEvent({ event: 'qontak_action_token_refreshed', timestamp: base + i * 1000, source: 'bench', organization_id: org, outcome: 'failed' }),
  );
  const sentAt = Date.now();
  await producer.send({ topic, acks: 1, messages: burst.map((e) => encodeEvent(e)) });
  // The minute closes when event time moves on; the clock stands in for live traffic here.
  now = base + 4 * MIN;
  const seen = () => slack.for('bot').some((m) => m.body.text?.includes(`organization_id=${org}`));
  while (!seen()) await new Promise((r) => setTimeout(r, 20));
  latencies.push(Date.now() - sentAt);
}
latencies.sort((a, b) => a - b);
const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(`alerts breach→Slack: n=${latencies.length} p50 ${p(0.5)} ms, p99 ${p(0.99)} ms (idle watermark advance 500 ms, Slack pacing 1 msg/s)`);

await ev.stop();
await producer.disconnect();
await slack.stop();
if (process.env.DATABASE_URL) await db.query(`DROP SCHEMA ${schema} CASCADE`);
await db.close();
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: [topic, `${topic}-ctl`] }).catch(() => undefined);
await admin.disconnect();
