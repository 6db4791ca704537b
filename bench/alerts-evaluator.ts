/**
 * Alert evaluator figures (printed, never asserted):
 *   1. engine throughput: events/s through dedupe + exact count spans + 10 s ratio steps + rule evaluation, with
 *      1 % of the events arriving up to 30 min late (target ≥ 500k/s)
 *   2. memory with 10k organizations × 7 node_types active
 *   3. state rebuild from Kafka for 1M events spread over the full lateness horizon (6 h; target < 30 s) — needs
 *      a broker: KAFKA_BROKERS, or the local test broker on 127.0.0.1:19192
 *   4. breach → Slack latency against the local fake Slack, on the wall clock with background traffic: the
 *      evaluation delay (rules file, 2 min) by design, and what the pipeline adds beyond it (p99 < 10 s)
 * All with the shipped rule set (the spec's three and the SLO burn-rate rules, as the alerts process loads them)
 * and event ids made as the emitter makes them: one EventIdGenerator per producer process, 8 of them interleaved.
 *
 *   npx tsx bench/alerts-evaluator.ts [--events 1000000] [--no-kafka]
 */
import { randomBytes } from 'node:crypto';
import { AlertEngine } from '../src/consumers/alerts/alert-engine.ts';
import { isRecoveryStep } from '../src/consumers/alerts/recovery.ts';
import { AlertEvaluator } from '../src/consumers/alerts/alert-evaluator.ts';
import { loadRulesFile, longestWindowMinutes, withSloRules } from '../src/consumers/alerts/alert-rules.ts';
import { migrateAlerts } from '../src/consumers/alerts/alert-store-schema.ts';
import { SlackNotifier } from '../src/consumers/alerts/notifiers/slack-notifier.ts';
import { buildEvent, encodeEvent, EventIdGenerator, NODE_TYPE_NAMES, type ActionEvent } from '../src/events/index.ts';
import { migrateRegistry } from '../src/executors/registry-schema.ts';
import { createPlatformaticKafka } from '../src/platform/kafka/platformatic-adapter.ts';
import type { OutgoingRecord } from '../src/platform/kafka/kafka-port.ts';
import { toRecord } from '../src/producers/record-batch.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { openRegistryDb } from '../src/platform/registry-db.ts';
import { FakeSlack } from '../test/fakes/fake-slack.ts';

const args = process.argv.slice(2);
const total = Number(args[args.indexOf('--events') + 1]) || 1_000_000;
const withKafka = !args.includes('--no-kafka');
const rules = withSloRules(loadRulesFile());
const MIN = 60_000;

// The engine's dedupe keeps our producers' ids as sequence intervals per instance: ids of another shape would
// measure its fallback table instead.
const producers = Array.from({ length: 8 }, () => new EventIdGenerator());
let made = 0;
function eventAt(ts: number, i: number, orgs: number, id?: string): ActionEvent {
  const org = `org-${i % orgs}`;
  const nodeType = NODE_TYPE_NAMES[Math.floor(i / orgs) % NODE_TYPE_NAMES.length];
  const event_id = id ?? producers[made++ % producers.length].next(ts);
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
  // The dedupe ids live in typed arrays (event-id-set.ts): their bytes are outside the V8 heap, so both are counted.
  const before = process.memoryUsage();
  const engine = new AlertEngine(rules, { minuteMs: MIN });
  for (const e of events) engine.ingest(e, 0);
  global.gc?.();
  const after = process.memoryUsage();
  const heap = after.heapUsed - before.heapUsed;
  const arrays = after.arrayBuffers - before.arrayBuffers;
  console.log(
    `alerts memory: ${orgs.toLocaleString()} orgs × ${NODE_TYPE_NAMES.length} node_types, ${events.length.toLocaleString()} events in a 30-min span: +${mb(heap + arrays)} ` +
      `(heap +${mb(heap)}, typed arrays +${mb(arrays)}; ${engine.seriesCount().toLocaleString()} scope series, dedupe ids included)${global.gc ? '' : ' [run with --expose-gc for exact figures]'}`,
  );
}

// 1. Engine throughput (pure: the database sees only transitions, so it is not in this path). The evaluator decodes
// one Kafka batch, hands its events to the engine and drops them: events are built per batch of 5,000 here too
// (not timed), so the engine's garbage collections do not also walk a million events no evaluator would hold.
{
  const start = Math.floor((Date.now() - 3 * 3600_000) / MIN) * MIN;
  const spanMs = 90 * MIN;
  const orgs = 10_000;
  // Arrival order as indexes into the timeline; ids made in event-time order, as the producers made them.
  const order = Int32Array.from({ length: total }, (_, i) => i);
  const ids = Array.from({ length: total }, (_, i) => producers[i % producers.length].next(start + Math.floor((i / total) * spanMs)));
  // 1 % of the events arrive late: each swaps places with an event up to 30 minutes (≈ 5.5 % of the stream) later.
  for (let i = 0; i < total; i += 100) {
    const j = Math.min(total - 1, i + Math.floor(Math.random() * 0.055 * total));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const BATCH = 5000;
  const batch: ActionEvent[] = new Array(BATCH);
  const engine = new AlertEngine(rules, { minuteMs: MIN });
  let ns = 0n;
  let transitions = 0;
  for (let from = 0; from < total; from += BATCH) {
    const n = Math.min(BATCH, total - from);
    for (let k = 0; k < n; k++) {
      const i = order[from + k];
      batch[k] = eventAt(start + Math.floor((i / total) * spanMs), i, orgs, ids[i]);
    }
    const last = from + n >= total;
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < n; k++) engine.ingest(batch[k], (from + k) % 6);
    for (let p = 0; p < 6; p++) engine.watermark.setCaughtUp(p, last);
    for (const t of engine.decide()) {
      transitions++;
      if (isRecoveryStep(t)) engine.commitRecovery({ ...t.next, version: t.prev.version + 1 });
      else engine.commit({ ...t.next, version: t.prev.version + 1 });
    }
    ns += process.hrtime.bigint() - t0;
  }
  const s = Number(ns) / 1e9;
  console.log(
    `alerts engine: ${total.toLocaleString()} events in ${s.toFixed(2)} s of ingest + decide = ${Math.round(total / s).toLocaleString()} events/s ` +
      `(batches of ${BATCH.toLocaleString()}, built outside the timing; ${transitions} transitions, ${engine.stats.evaluations.toLocaleString()} scope evaluations, ${engine.stats.late.toLocaleString()} late events counted)`,
  );
}

if (!withKafka) process.exit(0);

// 3 + 4. Through the real broker and a registry database (PostgreSQL if DATABASE_URL, else PGlite in memory).
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19192').split(',');
const kafka = createPlatformaticKafka({ brokers, clientId: 'bench-alerts' });
const admin = kafka.admin();
const topic = `bench-alerts-${randomBytes(4).toString('hex')}`;
await admin.ensureTopics([{ topic, partitions: 6, replicationFactor: 1 }]);
/** A registry database of its own per phase: PostgreSQL (a fresh schema) if DATABASE_URL, else PGlite in memory. */
const schemas: string[] = [];
async function benchDb() {
  const schema = `bench_alerts_${randomBytes(3).toString('hex')}`;
  let opened;
  if (process.env.DATABASE_URL) {
    const setup = await openRegistryDb({ url: process.env.DATABASE_URL });
    await setup.query(`CREATE SCHEMA ${schema}`);
    await setup.close();
    schemas.push(schema);
    opened = await openRegistryDb({ url: `${process.env.DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` });
  } else {
    opened = await openRegistryDb({ memory: true });
  }
  await migrateRegistry(opened);
  await migrateAlerts(opened);
  return opened;
}
const db = await benchDb();
const slack = new FakeSlack({ rateLimit: false });
await slack.start();
// Spread over the whole lateness horizon (6 h), which is what a restart reads back.
const start = Math.floor((Date.now() - 7 * 3600_000) / MIN) * MIN;
const events = timeline(total, start, 6 * 60 * MIN, 10_000);
const producer = kafka.producer({ acks: 'leader', idempotent: false, codec: 'none' });
async function send(to: string, records: OutgoingRecord[]): Promise<void> {
  const result = await producer.send(to, records);
  if (!result.ok) throw new Error(`send to ${to} failed: ${result.reason} ${result.detail}`);
}
let t0 = Date.now();
for (let i = 0; i < events.length; i += 10_000) await send(topic, events.slice(i, i + 10_000).map((e) => toRecord(encodeEvent(e))));
console.log(`alerts kafka: produced ${total.toLocaleString()} events in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const now = start + 362 * MIN;
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
{
  // What a restart reads: the evaluator's rebuild horizon (longest look-back + allowance + delay + 10 min grace).
  const horizonMin = longestWindowMinutes(rules) + 360 + rules.evaluationDelayMinutes + 10;
  const rate = ev.stats.rebuildEvents / rebuildS;
  const whole = [10_000, 20_000].map((r) => `${(r / 1000).toFixed(0)}k events/s: ${((r * horizonMin * 60) / 1e9).toFixed(2)} bn events ≈ ${((r * horizonMin * 60) / rate / 3600).toFixed(1)} h`);
  console.log(`alerts rebuild of the whole horizon (${(horizonMin / 60).toFixed(1)} h of event time with these rules) at this rate — ${whole.join('; ')}`);
}

await ev.stop();

// 4. Breach → Slack on the wall clock, as on-call lives it: a fresh evaluator on its own topic, steady
// background traffic stamped "now", and 20 live breaches (6 refresh failures for a new organization,
// 200 ms apart). Latency runs from producing the sixth failure to each Slack channel receiving the page.
// BOT and CRM on-call are two webhooks, as in production (each is paced at 1 message/s).
const liveTopic = `${topic}-live`;
await admin.ensureTopics([{ topic: liveTopic, partitions: 6, replicationFactor: 1 }]);
// Its own database: the rebuild phase's alert states and queued pages must not stand ahead in the outbox.
const liveDb = await benchDb();
const live = new AlertEvaluator({
  kafka,
  db: liveDb,
  rules,
  eventsTopic: liveTopic,
  controlTopic: `${liveTopic}-ctl`,
  groupId: `${liveTopic}-alerts`,
  timeScale: 1,
  notifiers: {
    'slack-bot': new SlackNotifier({ name: 'slack-bot', webhookUrl: slack.webhook('bot') }),
    'slack-crm': new SlackNotifier({ name: 'slack-crm', webhookUrl: slack.webhook('crm') }),
  },
  routes: { 'bot-oncall': ['slack-bot'], 'crm-oncall': ['slack-crm'] },
  dashboardBaseUrl: 'http://dash',
  killSwitch: { dryRun: true, maxPer24h: 2 },
  logger: silentLogger,
});
await live.start();
await live.rebuiltAndLeading();
const BACKGROUND_RATE = Number(process.env.BENCH_BACKGROUND_RATE ?? 2000);
let backgroundOn = true;
let backgroundSent = 0;
const background = (async () => {
  while (backgroundOn) {
    // Healthy traffic (invoked, executed, successful refreshes): other pages would queue ahead on the paced channels.
    const batch = Array.from({ length: BACKGROUND_RATE / 10 }, () => eventAt(Date.now(), backgroundSent++, 500)).filter(
      (e) => e.event !== 'qontak_action_failed' && !(e.event === 'qontak_action_token_refreshed' && e.outcome === 'failed'),
    );
    await send(liveTopic, batch.map((e) => toRecord(encodeEvent(e))));
    await new Promise((r) => setTimeout(r, 100));
  }
})();
await new Promise((r) => setTimeout(r, 2000));
// A count rule pages once the watermark (newest event time − the evaluation delay) has passed the crossing, so
// that events up to the delay out of order still give the page its true start: the page cannot come before the
// delay. Printed: crossing event produced → page received, and the part of it beyond the delay.
const delayMs = rules.evaluationDelayMinutes * MIN;
const sentAt = new Map<string, number>();
const latencies: Record<'bot' | 'crm', number[]> = { bot: [], crm: [] };
const received = { bot: new Set<string>(), crm: new Set<string>() };
const watch = setInterval(() => {
  for (const ch of ['bot', 'crm'] as const) {
    for (const m of slack.for(ch)) {
      const org = /organization_id=(breach-[\w-]+)/.exec(m.body.text ?? '')?.[1];
      if (!org || received[ch].has(org) || !sentAt.has(org)) continue;
      received[ch].add(org);
      latencies[ch].push(Date.now() - sentAt.get(org)!);
    }
  }
}, 10);
for (let k = 0; k < 20; k++) {
  const org = `breach-${k}-${randomBytes(2).toString('hex')}`;
  for (let i = 0; i < 6; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    const at = Date.now();
    await send(liveTopic, [toRecord(encodeEvent(buildEvent({ event: 'qontak_action_token_refreshed', timestamp: at, source: 'bench', organization_id: org, outcome: 'failed' })))]);
    if (i === 5) sentAt.set(org, at);
  }
  await new Promise((r) => setTimeout(r, 1000));
}
const waitUntil = Date.now() + delayMs + 180_000;
while ((received.bot.size < sentAt.size || received.crm.size < sentAt.size) && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 100));
clearInterval(watch);
backgroundOn = false;
await background;
for (const ch of ['bot', 'crm'] as const) {
  const l = latencies[ch].sort((a, b) => a - b);
  const q = (x: number) => l[Math.min(l.length - 1, Math.floor(x * l.length))];
  const beyond = (ms: number | undefined) => (ms === undefined ? '?' : `${ms - delayMs}`);
  console.log(
    `alerts breach→Slack (${ch} on-call): ${l.length} of ${sentAt.size} paged; crossing event → page p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${l[l.length - 1]} ms; ` +
      `beyond the ${delayMs / 1000} s evaluation delay: p50 ${beyond(q(0.5))} ms, p99 ${beyond(q(0.99))} ms (wall clock, ${BACKGROUND_RATE.toLocaleString()} background events/s)`,
  );
}
await live.stop();

await producer.close();
await slack.stop();
await liveDb.close();
for (const schema of schemas) await db.query(`DROP SCHEMA ${schema} CASCADE`);
await db.close();
await admin.deleteTopics([topic, `${topic}-ctl`, liveTopic, `${liveTopic}-ctl`]).catch(() => undefined);
await kafka.close();
