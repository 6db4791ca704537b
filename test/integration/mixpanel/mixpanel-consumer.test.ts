import { describe, expect, it } from 'vitest';
import { buildEvent, DLQ_HEADERS, encodeEvent, NODE_TYPE_NAMES, type ActionEvent } from '../../../src/events/index.ts';
import { createMixpanelConsumer } from '../../../src/consumers/mixpanel/mixpanel-consumer.ts';
import { MIXPANEL_PROPERTY_ALLOW_LIST } from '../../../src/consumers/mixpanel/event-mapping.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { FakeMixpanel, type Fault } from '../../fakes/fake-mixpanel.ts';
import { freshTopics, readTopic, sharedProducer, uniqueName, waitFor } from '../../helpers/kafka.ts';
import { PII_EXTRAS, PII_VALUES } from '../../unit/mixpanel/pii-fixtures.ts';

const broker = sharedProducer();

const BLOCKED = '-blocked';

function makeEvent(i: number): ActionEvent {
  const base = { source: 'agent-runtime', organization_id: `org-${i % 40}` };
  const node_type = NODE_TYPE_NAMES[i % NODE_TYPE_NAMES.length];
  const agent_id = `agent-${i % 500}`;
  const conversation_id = i % 2000 === 1 ? `conv-${i}${BLOCKED}` : `conv-${i % 9000}`;
  switch (i % 5) {
    case 0:
      return buildEvent({ ...base, event: 'qontak_action_configured', node_type, agent_id });
    case 1:
      return buildEvent({ ...base, event: 'qontak_action_invoked', node_type, agent_id, conversation_id });
    case 2:
      return buildEvent({ ...base, event: 'qontak_action_executed', node_type, agent_id, conversation_id: `conv-${i % 9000}`, duration_ms: i % 3000 });
    case 3:
      return buildEvent({ ...base, event: 'qontak_action_failed', node_type, agent_id, conversation_id, reason: 'crm_server_error', duration_ms: 40 });
    default:
      return buildEvent({ ...base, event: 'qontak_action_token_refreshed', outcome: i % 3 ? 'success' : 'failed' });
  }
}

async function produce(topic: string, events: readonly ActionEvent[]): Promise<void> {
  await broker.send(topic, events.map(encodeEvent), 'gzip');
}

function settings(f: FakeMixpanel) {
  return loadConfig({}, {
    'mixpanel.apiHost': f.url,
    'mixpanel.projectId': '77',
    'mixpanel.projectToken': 'tok-77',
    'mixpanel.serviceAccountUser': 'svc.pipeline',
    'mixpanel.serviceAccountSecret': 'svc-secret',
    'mixpanel.consumerGroup': uniqueName('actionpulse-mixpanel'),
    'mixpanel.requestTimeoutMs': 1000,
  }).mixpanel;
}

/** A storm: the first 25 requests are 429s (some with Retry-After), then a steady mix of 5xx, drops and slow answers. */
function storm(n: number): Fault | undefined {
  if (n <= 25) return { kind: 'status', status: 429, retryAfter: n % 10 === 0 ? '1' : undefined };
  if (n > 400) return undefined;
  if (n % 7 === 0) return { kind: 'status', status: n % 2 ? 503 : 500 };
  if (n % 11 === 0) return { kind: 'drop' };
  if (n % 13 === 0) return { kind: 'drop_after_ingest' };
  if (n % 17 === 0) return { kind: 'slow', delayMs: 1500 };
  return undefined;
}

describe('Mixpanel consumer on the real broker', () => {
  it('delivers 100,000 events through 429s, 5xx and dropped connections: every $insert_id, only invalid ones dead-lettered', async () => {
    const { events: topic, dlq } = await freshTopics(broker.port, 3);
    const f = await new FakeMixpanel({
      tls: true,
      projectId: '77',
      projectToken: 'tok-77',
      serviceAccount: { username: 'svc.pipeline', secret: 'svc-secret' },
      keepRecords: false,
      rejectWhen: (r) => (String(r.properties.conversation_id).endsWith(BLOCKED) ? 'value blocked by data governance' : undefined),
    }).start();
    f.faultPlan = storm;
    const produced = Array.from({ length: 100_000 }, (_, i) => makeEvent(i));
    const invalid = produced.filter((e) => 'conversation_id' in e && e.conversation_id?.endsWith(BLOCKED));
    expect(invalid.length).toBeGreaterThan(10);
    await produce(topic, produced);

    const runner = createMixpanelConsumer(settings(f), {
      kafka: broker.port,
      logger: silentLogger,
      topic,
      deadLetterTopic: dlq,
      ca: f.caPem,
      retry: { initialMs: 20, maxMs: 300, multiplier: 2 },
    });
    await runner.start();
    try {
      await waitFor(() => runner.stats.written + runner.stats.deadLettered >= produced.length, { timeoutMs: 240_000, intervalMs: 500, what: 'all events written or dead-lettered' });
      const committed = () => [0, 1, 2].reduce((sum, p) => sum + Number(runner.stats.partitions.get(p)?.committedOffset ?? 0), 0);
      await waitFor(() => committed() === produced.length, { timeoutMs: 60_000, what: 'offsets committed on every partition' });

      const expected = new Set(produced.filter((e) => !invalid.includes(e)).map((e) => e.event_id));
      expect(f.accepted.size).toBe(expected.size);
      expect(new Set(f.accepted.keys())).toEqual(expected);
      expect(f.requests.faults).toBeGreaterThan(40);
      expect(runner.stats.retries).toBeGreaterThan(10);
      expect(f.acceptedTotal).toBeGreaterThanOrEqual(expected.size); // at least once; drops after ingest duplicate

      const dead = await readTopic(broker.port, dlq, invalid.length, 60_000);
      expect(dead).toHaveLength(invalid.length);
      expect(new Set(dead.map((m) => (JSON.parse(m.value!.toString()) as ActionEvent).event_id))).toEqual(new Set(invalid.map((e) => e.event_id)));
      for (const m of dead) {
        expect(m.headers?.[DLQ_HEADERS.reason]?.toString()).toBe('mixpanel_rejected');
        expect(m.headers?.[DLQ_HEADERS.detail]?.toString()).toContain('value blocked by data governance');
      }
      expect(runner.stats.deadLettered).toBe(invalid.length);
    } finally {
      await runner.stop();
      await f.stop();
    }
  }, 360_000);

  it('no PII reaches Mixpanel, whatever the producer put on the topic', async () => {
    const { events: topic, dlq } = await freshTopics(broker.port, 1);
    const f = await new FakeMixpanel({ projectId: '77', projectToken: 'tok-77', serviceAccount: { username: 'svc.pipeline', secret: 'svc-secret' } }).start();
    const clean = Array.from({ length: 20 }, (_, i) => makeEvent(i));
    // A producer that ignores the contract: extra customer fields on otherwise valid events.
    const dirty = Array.from({ length: 20 }, (_, i) => ({ ...makeEvent(100 + i), ...PII_EXTRAS }));
    await broker.send(topic, [...clean.map(encodeEvent), ...dirty.map((e) => ({ key: e.organization_id, value: JSON.stringify(e) }))]);
    const runner = createMixpanelConsumer(settings(f), { kafka: broker.port, logger: silentLogger, topic, deadLetterTopic: dlq, retry: { initialMs: 20, maxMs: 100, multiplier: 2 } });
    await runner.start();
    try {
      await waitFor(() => runner.stats.written + runner.stats.deadLettered >= 40, { what: 'all 40 messages handled' });
      await waitFor(() => f.profileUpdates.length > 0, { what: 'a group profile update' });
      expect(f.records().length).toBe(clean.length);
      const allowed = new Set<string>([...MIXPANEL_PROPERTY_ALLOW_LIST, 'time', 'distinct_id', '$insert_id']);
      for (const r of f.records()) for (const k of Object.keys(r.properties)) expect(allowed).toContain(k);
      const everything = JSON.stringify([f.records(), f.profileUpdates]);
      for (const v of PII_VALUES) expect(everything).not.toContain(v);
      // The contract refused the dirty events: they wait in the dead-letter topic, not lost.
      expect((await readTopic(broker.port, dlq, dirty.length)).length).toBe(dirty.length);
    } finally {
      await runner.stop();
      await f.stop();
    }
  });
});
