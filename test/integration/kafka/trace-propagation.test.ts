import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, ParentBasedSampler, SamplingDecision, SimpleSpanProcessor, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import type { AlertNotification } from '../../../src/consumers/alerts/alert-notification.ts';
import { SlackNotifier } from '../../../src/consumers/alerts/notifiers/slack-notifier.ts';
import { OutboxDispatcher } from '../../../src/consumers/alerts/outbox-dispatcher.ts';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import type { Sink, SinkBatch, SinkResult } from '../../../src/consumers/sink.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { createExecutor, fileBackend, type Executor } from '../../../src/executors/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import type { IncomingRecord } from '../../../src/platform/kafka/kafka-port.ts';
import { MAX_LINKS_PER_SPAN } from '../../../src/platform/kafka/messaging-spans.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { openRegistryDb, type SqlDb } from '../../../src/platform/registry-db.ts';
import { startTelemetry } from '../../../src/platform/telemetry.ts';
import { createEmitter, type Emitter } from '../../../src/producers/emitter.ts';
import { FakeSlack } from '../../fakes/fake-slack.ts';
import { freshTopics, readTopic, testPort, uniqueName, waitFor } from '../../helpers/kafka.ts';
import { evaluator, freshRegistryDb } from '../alerts/alerts-harness.ts';

/**
 * Real broker, real emitter, executor, consumer runner and alert evaluator, the real tracing SDK with an
 * in-memory exporter. The sampler drops the executor span of one organization (and, parent-based, what
 * hangs under it), so the test also shows the sampled flag travels with the message instead of being forced.
 */
const UNSAMPLED_ORG = 'org-unsampled';
const dropOneOrg: Sampler = {
  shouldSample: (_ctx, _traceId, _name, _kind, attributes) => ({
    decision: attributes.organization_id === UNSAMPLED_ORG ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
  }),
  toString: () => `drop ${UNSAMPLED_ORG}`,
};
const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({
  serviceName: 'actionpulse-test',
  spanProcessors: [new SimpleSpanProcessor(exporter)],
  sampler: new ParentBasedSampler({ root: dropOneOrg }),
});
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await telemetry.shutdown();
});

/** Records the span that is active while the runner calls write: the runner's batch span must be. */
class SpanWitnessSink implements Sink {
  readonly name = 'witness';
  readonly events: ActionEvent[] = [];
  readonly activeSpanIds: (string | undefined)[] = [];
  async write(batch: SinkBatch): Promise<SinkResult> {
    this.activeSpanIds.push(trace.getActiveSpan()?.spanContext().spanId);
    this.events.push(...batch.events);
    return { status: 'ok' };
  }
  async close(): Promise<void> {}
}

interface Producing {
  executor: Executor;
  emitter: Emitter;
}

async function producing(topic: string): Promise<Producing> {
  const dir = await mkdtemp(join(tmpdir(), 'ap-trace-'));
  const config = loadConfig({}, { 'kafka.eventsTopic': topic, 'spool.dir': join(dir, 'spool') });
  // The emitter produces through the Kafka port, as in production.
  const port = await testPort();
  const emitter = await createEmitter(config, { kafka: port, logger: silentLogger });
  const db = await openRegistryDb({ memory: true });
  const executor = await createExecutor({
    db,
    jobBackend: fileBackend(join(dir, 'jobs')),
    emitter,
    logger: silentLogger,
    source: 'agent-runtime',
    crm: { baseUrl: 'http://127.0.0.1:1', tokenEncryptionKey: randomBytes(32).toString('hex'), requestTimeoutMs: 1000, maxRetries: 0 },
  });
  cleanups.push(async () => {
    await executor.close();
    await emitter.close(1000);
    await port.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { executor, emitter };
}

async function consume(topic: string, dlq: string, expected: number): Promise<{ sink: SpanWitnessSink; group: string }> {
  const sink = new SpanWitnessSink();
  const group = uniqueName('trace');
  // The consumer runner reads through the Kafka port.
  const port = await testPort();
  const runner = new ConsumerRunner({ kafka: port, sink, groupId: group, topic, deadLetterTopic: dlq, logger: silentLogger });
  await runner.start();
  try {
    await waitFor(() => sink.events.length >= expected, { timeoutMs: 60_000, what: `${expected} events in the sink` });
  } finally {
    await runner.stop();
    await port.close();
  }
  return { sink, group };
}

const named = (name: string, extra: (s: ReadableSpan) => boolean = () => true) => exporter.getFinishedSpans().filter((s) => s.name === name && extra(s));
const sum = (spans: ReadableSpan[], attribute: string) => spans.reduce((n, s) => n + Number(s.attributes[attribute]), 0);
const linkKeys = (spans: ReadableSpan[]) => spans.flatMap((s) => s.links.map((l) => `${l.context.traceId}/${l.context.spanId}/${l.context.traceFlags}`));
const header = (m: IncomingRecord) => m.headers.traceparent;

describe('OpenTelemetry across Kafka (messaging semantic conventions)', () => {
  it('executor → create span (PRODUCER, in the action trace, its context in traceparent) → send span → per-batch CONSUMER spans that link to it and wrap the sink write', { timeout: 180_000 }, async () => {
    const kafka = await testPort();
    cleanups.push(() => kafka.close());
    const { events: topic, dlq } = await freshTopics(kafka, 1);
    const { executor, emitter } = await producing(topic);
    for (const org of ['org-traced', UNSAMPLED_ORG]) {
      const ctx = { organization_id: org, agent_id: 'agent-1', conversation_id: `conv-${org}`, channel_room_id: 'nowhere' };
      expect(await executor.execute('qontak_chat_room_resolve', {}, ctx)).toMatchObject({ ok: false, reason: 'room_not_found' });
    }
    expect(await emitter.drained(60_000)).toBe(true);
    // Two action events per call, and each agent's first call of the day also reports it active (no span, no ids).
    const all = await readTopic(kafka, topic, 6);
    const messages = all.filter((m) => m.headers?.event?.toString() !== 'qontak_agent_active');
    expect(messages).toHaveLength(4);
    expect(all.filter((m) => m.headers?.traceparent === undefined)).toHaveLength(2);

    // The alert evaluator reads the same topic under its own groups.
    const registry = await freshRegistryDb();
    cleanups.push(registry.drop);
    const ev = evaluator({ kafka, db: registry.db, rules: loadRulesFile(), eventsTopic: topic, notifiers: {}, routes: {} });
    await ev.start();
    cleanups.push(() => ev.stop());
    const { sink, group } = await consume(topic, dlq, 6);
    await waitFor(() => ev.stats.events >= 6, { timeoutMs: 90_000, what: 'the evaluator read the events' });
    await ev.stop();

    // The executor span is the root of the action's trace; the unsampled organization's is not recorded.
    const executorSpans = named('execute_tool qontak_chat_room_resolve');
    expect(executorSpans.map((s) => s.attributes.organization_id)).toEqual(['org-traced']);
    const [action] = executorSpans;
    expect(action.parentSpanContext).toBeUndefined();
    const traceId = action.spanContext().traceId;

    // One create span per event, child of the executor span, PRODUCER.
    const creates = named(`create ${topic}`);
    expect(creates).toHaveLength(2);
    for (const c of creates) {
      expect(c.kind).toBe(SpanKind.PRODUCER);
      expect(c.spanContext().traceId).toBe(traceId);
      expect(c.parentSpanContext?.spanId).toBe(action.spanContext().spanId);
      expect(c.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.operation.type': 'create',
        'messaging.operation.name': 'create',
      });
    }
    const createIds = creates.map((c) => c.spanContext().spanId).sort();

    // The headers carry the create spans' contexts, sampled; the unsampled action's say so (flags 00).
    const traced = messages.filter((m) => m.key?.toString() === 'org-traced');
    expect(traced.map(header).map((h) => h?.split('-')[1])).toEqual([traceId, traceId]);
    expect(traced.map((m) => header(m)!.split('-')[2]).sort()).toEqual(createIds);
    expect(traced.map((m) => header(m)!.split('-')[3])).toEqual(['01', '01']);
    const unsampled = messages.filter((m) => m.key?.toString() === UNSAMPLED_ORG);
    expect(unsampled.map((m) => header(m)!.split('-')[3])).toEqual(['00', '00']);
    const unsampledTrace = header(unsampled[0])!.split('-')[1];
    expect(exporter.getFinishedSpans().some((s) => s.spanContext().traceId === unsampledTrace)).toBe(false);

    // send spans: CLIENT (the create spans are the creation context), linked to every message's context.
    const sends = named(`send ${topic}`);
    expect(sum(sends, 'messaging.batch.message_count')).toBe(6);
    for (const s of sends) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.operation.type': 'send', 'messaging.destination.partition.id': '0' });
    }
    for (const c of creates) expect(linkKeys(sends)).toContain(`${traceId}/${c.spanContext().spanId}/${TraceFlags.SAMPLED}`);

    // The runner: CONSUMER spans per batch of its group, roots linked to each message's creation context.
    const processes = named(`process ${topic}`, (s) => s.attributes['messaging.consumer.group.name'] === group);
    expect(sum(processes, 'messaging.batch.message_count')).toBe(6);
    for (const p of processes) {
      expect(p.kind).toBe(SpanKind.CONSUMER);
      expect(p.parentSpanContext).toBeUndefined();
      expect(p.status.code).toBe(SpanStatusCode.UNSET);
      expect(p.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.destination.partition.id': '0',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'actionpulse.sink': 'witness',
        'actionpulse.committed': true,
      });
    }
    const links = linkKeys(processes);
    for (const c of creates) expect(links).toContain(`${traceId}/${c.spanContext().spanId}/${TraceFlags.SAMPLED}`);
    for (const m of unsampled) expect(links).toContain(`${unsampledTrace}/${header(m)!.split('-')[2]}/${TraceFlags.NONE}`);
    // Real duration: every sink write ran inside the batch span.
    expect(sink.activeSpanIds.length).toBeGreaterThan(0);
    for (const id of sink.activeSpanIds) expect(processes.map((p) => p.spanContext().spanId)).toContain(id);

    // The alert evaluator: the same shape under its reader group.
    const evaluated = named(`process ${topic}`, (s) => s.attributes['actionpulse.sink'] === 'alerts');
    expect(sum(evaluated, 'messaging.batch.message_count')).toBeGreaterThanOrEqual(6);
    for (const e of evaluated) {
      expect(e.kind).toBe(SpanKind.CONSUMER);
      expect(e.attributes['messaging.consumer.group.name']).not.toBe(group);
    }
    for (const c of creates) expect(linkKeys(evaluated)).toContain(`${traceId}/${c.spanContext().spanId}/${TraceFlags.SAMPLED}`);
  });

  it(`a batch span links at most ${MAX_LINKS_PER_SPAN} messages and counts the rest`, { timeout: 180_000 }, async () => {
    const kafka = await testPort();
    cleanups.push(() => kafka.close());
    const { events: topic, dlq } = await freshTopics(kafka, 1);
    const { executor, emitter } = await producing(topic);
    const traced = 300;
    for (let i = 0; i < traced; i++) expect(executor.recordConfigured({ node_type: 'qontak_crm_deal_create', agent_id: 'agent-bulk', organization_id: 'org-bulk' })).toEqual({ ok: true });
    expect(await emitter.drained(60_000)).toBe(true);
    // + the agent's one daily activity report, which has no trace ids.
    const total = traced + 1;
    const { group } = await consume(topic, dlq, total);

    for (const spans of [named(`process ${topic}`, (s) => s.attributes['messaging.consumer.group.name'] === group), named(`send ${topic}`)]) {
      expect(sum(spans, 'messaging.batch.message_count')).toBe(total);
      // Every traced message is either linked or counted as dropped, and nothing is dropped below the cap.
      expect(spans.reduce((n, s) => n + s.links.length, 0) + sum(spans, 'actionpulse.messaging.links_dropped')).toBe(traced);
      for (const s of spans) {
        expect(s.links.length).toBeLessThanOrEqual(MAX_LINKS_PER_SPAN);
        if (Number(s.attributes['actionpulse.messaging.links_dropped']) > 0) expect(s.links).toHaveLength(MAX_LINKS_PER_SPAN);
      }
    }
    // 300 messages fetched before the consumer started come in batches above the cap: the cap was applied.
    expect(named(`process ${topic}`, (s) => s.attributes['messaging.consumer.group.name'] === group).some((s) => Number(s.attributes['actionpulse.messaging.links_dropped']) > 0)).toBe(true);
  });
});

describe('alert delivery spans', () => {
  it('each delivery attempt is a CLIENT span with the channel, rule, HTTP status and outcome', { timeout: 60_000 }, async () => {
    const slack = new FakeSlack({ retryAfterSeconds: 1 });
    await slack.start();
    cleanups.push(() => slack.stop());
    const registry = await freshRegistryDb();
    cleanups.push(registry.drop);
    const db: SqlDb = registry.db;
    const n: AlertNotification = {
      kind: 'trigger',
      ruleId: 'failure-rate-1h',
      title: 'Failure rate',
      severity: 'critical',
      scope: { node_type: 'qontak_crm_deal_create' },
      scopeKey: 'node_type=qontak_crm_deal_create',
      dedupKey: 'actionpulse/failure-rate-1h/node_type=qontak_crm_deal_create',
      episode: 1,
      ruleKind: 'ratio',
      value: 0.4,
      threshold: 0.1,
      numerator: 40,
      denominator: 100,
      windowMinutes: 60,
      at: Date.now(),
      topReasons: [{ reason: 'crm_server_error', count: 40 }],
      dashboardUrl: 'http://dash.test/',
    };
    await db.query(
      `INSERT INTO alert_outbox (transition_key, rule_id, scope_key, receiver, channel, kind, dedup_key, episode, payload, status)
       VALUES ($1, $2, $3, 'bot-oncall', 'slack-bot', $4, $5, $6, $7::jsonb, 'pending')`,
      [uniqueName('transition'), n.ruleId, n.scopeKey, n.kind, n.dedupKey, n.episode, JSON.stringify(n)],
    );
    slack.script.push(429);
    const dispatcher = new OutboxDispatcher({ db, notifiers: { 'slack-bot': new SlackNotifier({ name: 'slack-bot', webhookUrl: slack.webhook('bot') }) }, logger: silentLogger });
    const deliveries = () => named('alert deliver slack-bot');
    await waitFor(async () => (await dispatcher.deliverDue(), deliveries().some((s) => s.attributes['actionpulse.alert.delivery'] === 'sent')), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'a delivery after the 429',
    });
    const [refused, sent] = deliveries();
    for (const s of [refused, sent]) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.attributes).toMatchObject({ 'actionpulse.alert.channel': 'slack-bot', 'actionpulse.alert.rule_id': n.ruleId, 'actionpulse.alert.kind': 'trigger', 'server.address': '127.0.0.1' });
    }
    expect(refused.attributes).toMatchObject({ 'http.response.status_code': 429, 'actionpulse.alert.delivery': 'retry', 'error.type': 'retryable', 'actionpulse.alert.attempt': 1 });
    expect(refused.status.code).toBe(SpanStatusCode.ERROR);
    expect(sent.attributes).toMatchObject({ 'http.response.status_code': 200, 'actionpulse.alert.delivery': 'sent', 'actionpulse.alert.attempt': 2 });
    expect(sent.status.code).toBe(SpanStatusCode.UNSET);
    expect(slack.for('bot')).toHaveLength(1);
  });
});
