import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { futureAllowanceMs, type ActionEvent } from '../../../src/events/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { createHttpApp, listen, type RunningServer } from '../../../src/platform/http-server.ts';
import type { KafkaPort } from '../../../src/platform/kafka/kafka-port.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { type Emitter } from '../../../src/producers/emitter.ts';
import { signBody } from '../../../src/producers/ingest-auth.ts';
import { createIngestRouter } from '../../../src/producers/ingest-router.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { readTopic } from '../../helpers/kafka.ts';
import { startIngestService, type IngestService } from '../../helpers/ingest-service.ts';

const SECRET = 'builder-secret-0123456789';
const TOKEN = 'ruby-runtime-token-abcdef';
let service: IngestService;
let kafka: KafkaPort;
let topic: string;
let emitter: Emitter;
let server: RunningServer;
const landed: string[] = [];

beforeAll(async () => {
  service = await startIngestService({
    'http.ingestSecrets': `builder-api=${SECRET}`,
    'http.ingestBearerTokens': `ruby-runtime=${TOKEN}`,
    'http.ingestMaxEvents': '20',
    'http.ingestMaxBodyBytes': '65536',
  });
  ({ kafka, topic, emitter, server } = service);
});

afterAll(() => service?.close());

function post(body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${server.url}/v1/events`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

function signed(body: string, t = Math.floor(Date.now() / 1000), secret = SECRET): Record<string, string> {
  return { 'x-actionpulse-signature': signBody(secret, t, body) };
}

describe('POST /v1/events', () => {
  it('accepts a signed single event with 202 once it is stored, and echoes the request id', async () => {
    const [event] = oneOfEach('org-ingest');
    const body = JSON.stringify(event);
    const res = await post(body, { ...signed(body), 'x-request-id': 'req-123' });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe('req-123');
    expect(await res.json()).toEqual({ accepted: 1, rejected: [] });
    landed.push(event.event_id);
  });

  it('a mixed batch: invalid events listed by index with field paths, the valid ones still land', async () => {
    const good = oneOfEach('org-mixed');
    const batch: unknown[] = [good[0], { ...good[1], node_type: 'qontak_fax_send' }, good[2], { ...good[3], reason: 'nope', extra: 1 }, good[4]];
    const body = JSON.stringify(batch);
    const res = await post(body, signed(body));
    expect(res.status).toBe(202);
    const json = (await res.json()) as { accepted: number; rejected: { index: number; reason: string; errors: { path: string }[] }[] };
    expect(json.accepted).toBe(3);
    expect(json.rejected.map((r) => r.index)).toEqual([1, 3]);
    expect(json.rejected[0]).toMatchObject({ reason: 'schema_invalid', errors: [{ path: 'node_type' }] });
    expect(json.rejected[1].errors.map((e) => e.path).sort()).toEqual(['extra', 'reason']);
    landed.push(good[0].event_id, good[2].event_id, good[4].event_id);
  });

  it('an event at the future allowance when sent lands; one 23 h ahead is listed under rejected with field timestamp', async () => {
    // The real clock runs on between building and validating, so "at the allowance" is within it when checked;
    // the 1 ms boundary on a pinned clock is in test/unit/events/future-allowance.test.ts.
    const [atAllowance, ahead] = oneOfEach('org-future');
    const batch = [
      { ...atAllowance, timestamp: Date.now() + futureAllowanceMs() },
      { ...ahead, timestamp: Date.now() + 23 * 3600_000 },
    ];
    const body = JSON.stringify(batch);
    const res = await post(body, signed(body));
    expect(res.status).toBe(202);
    const json = (await res.json()) as { accepted: number; rejected: { index: number; reason: string; errors: { path: string; message: string }[] }[] };
    expect(json.accepted).toBe(1);
    expect(json.rejected).toEqual([
      { index: 1, reason: 'timestamp_in_future', errors: [{ path: 'timestamp', message: expect.stringContaining('in the future by this service') }] },
    ]);
    expect(json.rejected[0].errors[0].message).toContain('EVENT_FUTURE_ALLOWANCE_SECONDS');
    landed.push(atAllowance.event_id);
  });

  it('accepts a bearer token instead of a signature', async () => {
    const [event] = oneOfEach('org-bearer');
    const res = await post(JSON.stringify([event]), { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(202);
    landed.push(event.event_id);
  });

  it('401 with the same hint-free body for a bad signature, a stale timestamp, a replay, a wrong or missing token', async () => {
    const [event] = oneOfEach('org-401');
    const body = JSON.stringify(event);
    const ok = signed(body);
    const attempts = [
      signed(body, undefined, 'not-the-secret'),
      signed(body, Math.floor(Date.now() / 1000) - 600),
      { 'x-actionpulse-signature': ok['x-actionpulse-signature'].replace(/v1=(.)/, (_m, c: string) => `v1=${c === '0' ? '1' : '0'}`) },
      { authorization: 'Bearer wrong-token' },
      {},
    ];
    for (const headers of attempts) {
      const res = await post(body, headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'unauthorized' });
    }
    // Replay: the first use of a signature passes, the same request again is refused.
    expect((await post(body, ok)).status).toBe(202);
    landed.push(event.event_id);
    const replay = await post(body, ok);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({ error: 'unauthorized' });
  });

  it('400 for invalid JSON and for a batch with no valid event; 413 for an oversized body or too many events', async () => {
    const bad = '{"event": "qontak_action_invoked",';
    const r1 = await post(bad, signed(bad));
    expect(r1.status).toBe(400);
    expect(await r1.json()).toEqual({ error: 'invalid_json', message: expect.any(String) });

    const none = JSON.stringify([{ event: 'nope' }]);
    const r2 = await post(none, signed(none));
    expect(r2.status).toBe(400);
    expect(await r2.json()).toMatchObject({ error: 'no_valid_events', accepted: 0, rejected: [{ index: 0 }] });

    const huge = JSON.stringify({ pad: 'x'.repeat(70_000) });
    const r3 = await post(huge, signed(huge));
    expect(r3.status).toBe(413);
    expect(await r3.json()).toEqual({ error: 'payload_too_large' });

    const many = JSON.stringify(Array.from({ length: 21 }, () => oneOfEach('org-many')[0]));
    const r4 = await post(many, signed(many));
    expect(r4.status).toBe(413);
    expect(await r4.json()).toEqual({ error: 'too_many_events', max: 20 });
  });

  it('serves /healthz, /readyz and Prometheus /metrics with emitter and ingest counters', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { emitter: true } });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/actionpulse_ingest_requests_total\{status="202"\} [1-9]/);
    expect(text).toMatch(/actionpulse_emitter_sent_total [1-9]/);
    expect(text).toContain('actionpulse_emitter_spool_bytes');
  });

});

describe('ingest rate limit', () => {
  it('429 with Retry-After once a source exceeds its event budget', async () => {
    const config = loadConfig({}, {
      'http.ingestBearerTokens': `slow=${TOKEN}`,
      'http.ingestRateEventsPerSecond': '1',
      'http.ingestRateBurstEvents': '5',
      'http.ingestMaxEvents': '5',
    });
    const app = createHttpApp({ logger: silentLogger, routers: [{ path: '/', router: createIngestRouter(config.http, { emitter, now: () => 1_700_000_000_000 }) }] });
    const s = await listen(app, 0);
    try {
      const five = JSON.stringify(oneOfEach('org-rl'));
      const first = await fetch(`${s.url}/v1/events`, { method: 'POST', body: five, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(first.status).toBe(202);
      landed.push(...(JSON.parse(five) as ActionEvent[]).map((e) => e.event_id));
      const second = await fetch(`${s.url}/v1/events`, { method: 'POST', body: five, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('5');
      expect(await second.json()).toEqual({ error: 'rate_limited', retryAfterSeconds: 5 });
    } finally {
      await s.close();
    }
  });
});

describe('ingest delivery', () => {
  it('every event acknowledged with 202 is on the topic, exactly once', async () => {
    expect(await emitter.drained(30_000)).toBe(true);
    // One more than expected, so a duplicate would show up instead of ending the read.
    const messages = await readTopic(kafka, topic, landed.length + 1, 8000);
    const ids = messages.map((m) => (JSON.parse(m.value!.toString()) as ActionEvent).event_id);
    expect(ids.sort()).toEqual([...landed].sort());
  });
});
