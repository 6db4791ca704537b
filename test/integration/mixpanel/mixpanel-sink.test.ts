import { afterEach, describe, expect, it } from 'vitest';
import { buildEvent, type ActionEvent } from '../../../src/events/index.ts';
import { GroupProfileUpdater } from '../../../src/consumers/mixpanel/group-profiles.ts';
import { MixpanelImportClient, type MixpanelAuth } from '../../../src/consumers/mixpanel/import-client.ts';
import { MixpanelSink } from '../../../src/consumers/mixpanel/mixpanel-sink.ts';
import { MIXPANEL_PROPERTY_ALLOW_LIST } from '../../../src/consumers/mixpanel/event-mapping.ts';
import type { SinkBatch } from '../../../src/consumers/sink.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { FakeMixpanel, type FakeMixpanelOptions } from '../../fakes/fake-mixpanel.ts';
import { waitFor } from '../../helpers/kafka.ts';
import { PII_EXTRAS, PII_VALUES } from '../../unit/mixpanel/pii-fixtures.ts';

const SA = { username: 'sa-user.mp-service-account', secret: 'sa-secret' };
const SA_AUTH: MixpanelAuth = { kind: 'service_account', ...SA, projectId: '4242' };

let fakes: FakeMixpanel[] = [];
let sinks: MixpanelSink[] = [];

afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
  sinks = [];
});

async function fake(o: FakeMixpanelOptions = {}): Promise<FakeMixpanel> {
  const f = await new FakeMixpanel({ serviceAccount: SA, projectId: '4242', projectToken: 'tok', ...o }).start();
  fakes.push(f);
  return f;
}

function sink(f: FakeMixpanel, o: { auth?: MixpanelAuth; maxEvents?: number; maxBytes?: number; timeoutMs?: number; groups?: GroupProfileUpdater } = {}): MixpanelSink {
  const client = new MixpanelImportClient({ apiHost: f.url, auth: o.auth ?? SA_AUTH, timeoutMs: o.timeoutMs ?? 10_000, concurrency: 4, ca: f.caPem });
  const s = new MixpanelSink({ client, logger: silentLogger, maxEvents: o.maxEvents ?? 2000, maxBytes: o.maxBytes ?? 2 * 1024 * 1024, concurrency: 4, groups: o.groups });
  sinks.push(s);
  return s;
}

function events(n: number, org = 'org-s'): ActionEvent[] {
  return Array.from({ length: n }, (_, i) =>
    buildEvent({ event: 'qontak_action_executed', source: 'agent-runtime', organization_id: `${org}-${i % 3}`, node_type: 'qontak_crm_deal_create', agent_id: `agent-${i % 7}`, conversation_id: `conv-${i}`, duration_ms: i % 500 }),
  );
}

function batch(evs: readonly ActionEvent[], firstOffset = '0'): SinkBatch {
  return { events: evs, topic: 't', partition: 0, firstOffset, lastOffset: String(Number(firstOffset) + evs.length - 1) };
}

const signal = new AbortController().signal;

describe('Mixpanel sink against a fake /import', () => {
  it('delivers over HTTPS with a service account, gzip and strict mode, records mapped per the contract', async () => {
    const f = await fake({ tls: true });
    const evs = events(4500);
    const result = await sink(f).write(batch(evs), signal);
    expect(result).toEqual({ status: 'ok' });
    expect(f.accepted.size).toBe(4500);
    expect(f.requests.import).toBe(3);
    expect(f.requests.gzip).toBe(3);
    const first = f.accepted.get(evs[10].event_id)!.record!;
    expect(first).toEqual({
      event: 'qontak_action_executed',
      properties: { time: evs[10].timestamp, distinct_id: 'agent-3', $insert_id: evs[10].event_id, node_type: 'qontak_crm_deal_create', agent_id: 'agent-3', conversation_id: 'conv-10', organization_id: 'org-s-1', duration_ms: 10, source: 'agent-runtime' },
    });
  });

  it('authenticates with the project secret too, and retries (never dead-letters) on bad credentials', async () => {
    const f = await fake({ projectSecret: 'proj-secret' });
    expect(await sink(f, { auth: { kind: 'project_secret', secret: 'proj-secret' } }).write(batch(events(10)), signal)).toEqual({ status: 'ok' });
    const wrong = await sink(f, { auth: { kind: 'project_secret', secret: 'nope' } }).write(batch(events(10)), signal);
    expect(wrong.status).toBe('retry');
    expect(wrong.status === 'retry' && wrong.error.message).toContain('HTTP 401');
    expect(f.accepted.size).toBe(10);
  });

  it('dead-letters exactly the records strict mode refused, with Mixpanel\'s message; the rest are ingested', async () => {
    const f = await fake({ rejectWhen: (r) => (String(r.properties.conversation_id).endsWith('7') ? 'blocked by data governance' : undefined) });
    const evs = events(100);
    const result = await sink(f).write(batch(evs), signal);
    if (result.status !== 'reject') throw new Error(`expected reject, got ${result.status}`);
    const expected = evs.flatMap((e, i) => (e.event === 'qontak_action_executed' && e.conversation_id.endsWith('7') ? [i] : []));
    expect(result.events.map((r) => r.index)).toEqual(expected);
    expect(result.events[0]).toMatchObject({ reason: 'mixpanel_rejected', detail: 'properties: blocked by data governance' });
    expect(f.accepted.size).toBe(100 - expected.length);
  });

  it('dead-letters events more than 1 h in the future before sending, and sends the rest', async () => {
    const f = await fake();
    const evs = events(5);
    evs[2] = { ...evs[2], timestamp: Date.now() + 3 * 3600_000 };
    const result = await sink(f).write(batch(evs), signal);
    if (result.status !== 'reject') throw new Error(`expected reject, got ${result.status}`);
    expect(result.events).toEqual([{ index: 2, reason: 'mixpanel_rejected', detail: expect.stringContaining('more than 1 h in the future') }]);
    expect([...f.accepted.keys()].sort()).toEqual([0, 1, 3, 4].map((i) => evs[i].event_id).sort());
  });

  it('splits a request the API refuses with 413 until it fits', async () => {
    const f = await fake({ maxRecords: 300, maxBytes: 64 * 1024 });
    const evs = events(2000);
    expect(await sink(f).write(batch(evs), signal)).toEqual({ status: 'ok' });
    expect(f.accepted.size).toBe(2000);
    expect(f.requests.tooLarge).toBeGreaterThan(0);
  });

  it('on 429 returns retry with Retry-After, and the retry resends only what was not accepted', async () => {
    const f = await fake();
    f.faultPlan = (n) => (n === 2 ? { kind: 'status', status: 429, retryAfter: '3' } : undefined);
    const s = sink(f, { maxEvents: 500 });
    const evs = events(2000);
    const first = await s.write(batch(evs), signal);
    expect(first).toMatchObject({ status: 'retry', retryInMs: 3000 });
    const afterFirst = f.accepted.size;
    expect(afterFirst).toBeLessThan(2000);
    expect(await s.write(batch(evs), signal)).toEqual({ status: 'ok' });
    expect(f.accepted.size).toBe(2000);
    expect([...f.accepted.values()].every((v) => v.count === 1)).toBe(true);
  });

  it('retries dropped connections, 5xx and answers slower than the timeout, losing nothing', async () => {
    const f = await fake();
    const plan = [{ kind: 'drop' }, { kind: 'status', status: 502 }, { kind: 'slow', delayMs: 1500 }, { kind: 'drop_after_ingest' }] as const;
    f.faultPlan = (n) => plan[n - 1];
    const s = sink(f, { timeoutMs: 500 });
    const evs = events(50);
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await s.write(batch(evs), signal);
      outcomes.push(r.status);
      if (r.status === 'ok') break;
    }
    expect(outcomes).toEqual(['retry', 'retry', 'retry', 'retry', 'ok']);
    expect(new Set(f.accepted.keys())).toEqual(new Set(evs.map((e) => e.event_id)));
  });

  it('never sends a non-allow-listed property, whatever the event carries', async () => {
    const f = await fake();
    const evs = events(30).map((e) => ({ ...e, ...PII_EXTRAS }) as unknown as ActionEvent);
    expect(await sink(f).write(batch(evs), signal)).toEqual({ status: 'ok' });
    const allowed = new Set<string>([...MIXPANEL_PROPERTY_ALLOW_LIST, 'time', 'distinct_id', '$insert_id']);
    expect(f.records()).toHaveLength(30);
    for (const r of f.records()) for (const k of Object.keys(r.properties)) expect(allowed).toContain(k);
    const everything = JSON.stringify(f.records());
    for (const v of PII_VALUES) expect(everything).not.toContain(v);
  });

  it('keeps organization group profiles up to date through the mixpanel package, once per org per interval', async () => {
    const f = await fake();
    const groups = new GroupProfileUpdater({ projectToken: 'tok', apiHost: f.url, intervalMs: 3600_000, logger: silentLogger });
    const s = sink(f, { groups });
    expect(await s.write(batch(events(60, 'org-g')), signal)).toEqual({ status: 'ok' });
    expect(await s.write(batch(events(60, 'org-g'), '60'), signal)).toEqual({ status: 'ok' });
    await waitFor(() => f.profileUpdates.length >= 3, { what: 'three group profile updates' });
    await groups.drain();
    expect(f.profileUpdates).toHaveLength(3);
    const ids = f.profileUpdates.map((u) => u.data.$group_id).sort();
    expect(ids).toEqual(['org-g-0', 'org-g-1', 'org-g-2']);
    expect(f.profileUpdates[0]).toMatchObject({ endpoint: '/groups', data: { $token: 'tok', $group_key: 'organization_id', $set: { $name: expect.any(String), last_event: 'qontak_action_executed' } } });
    expect(groups.stats).toEqual({ sent: 3, failed: 0 });
  });
});
