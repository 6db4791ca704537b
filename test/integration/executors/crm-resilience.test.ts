import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, expectLifecycle, openHarness, type Harness } from './executor-harness.ts';

const API_KEY = 'crm-api-key-test';
let h: Harness;
beforeAll(async () => {
  // Timeouts well above what a busy 2-core machine takes to answer, and "slow" replies far beyond them: the outcome
  // must not depend on how fast the fake CRM answers.
  h = await openHarness({ crm: { apiKey: API_KEY }, crmConfig: { apiKey: API_KEY, requestTimeoutMs: 3_000, maxRetries: 2 } });
});
afterAll(async () => {
  await h?.close();
});

const org = (name: string) => `org-${name}-${Math.random().toString(36).slice(2, 8)}`;
const deal = { crm_pipeline_id: 1, crm_stage_id: 2, name: 'Deal' };

describe('CRM auth fallback, retries and timeouts', () => {
  it('QACT-S01 ERR-1 refresh fails (500) → X-Crm-Api-Key fallback creates the deal; token_refreshed outcome=failed', async () => {
    const o = org('fallback');
    await h.seedOrg(o);
    h.crm.expireTokens(o);
    h.crm.refreshMode = 'fail_500';
    try {
      const ctx = context(o);
      expect(await h.executor.execute('qontak_crm_deal_create', deal, ctx)).toMatchObject({ ok: true });
      const posts = h.crm.requestsTo('POST', '/api/v3.1/deals').slice(-2);
      expect(posts.map((p) => p.status)).toEqual([401, 201]);
      expect(posts[1].headers['x-crm-api-key']).toBe(API_KEY);
      expect(posts[1].headers.authorization).toBeUndefined();
      const events = h.events(ctx.conversation_id);
      expect(events.map((e) => e.event)).toEqual(['qontak_action_invoked', 'qontak_action_token_refreshed', 'qontak_action_executed']);
      expect(events[1]).toMatchObject({ outcome: 'failed', organization_id: o });
    } finally {
      h.crm.refreshMode = 'ok';
    }
  });

  it('QACT-S02 ERR-1 refresh fails and the API key is refused too → crm_token_refresh_failed', async () => {
    const o = org('fallback-refused');
    await h.seedOrg(o);
    h.crm.expireTokens(o);
    h.crm.refreshMode = 'fail_401';
    h.crm.inject({ method: 'POST', pathPrefix: '/api/v3.1/tickets', status: 401, times: 2 });
    try {
      const ctx = context(o);
      expect(await h.executor.execute('qontak_crm_ticket_create', deal, ctx)).toMatchObject({ ok: false, reason: 'crm_token_refresh_failed' });
      expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_failed');
    } finally {
      h.crm.refreshMode = 'ok';
    }
  });

  it('QACT-S03 ERR-2 PUT retries 5xx with backoff and succeeds on the third attempt', async () => {
    const o = org('put-5xx');
    await h.seedOrg(o);
    h.crm.seedRecord('tickets', 'R1');
    h.crm.inject({ method: 'PUT', pathPrefix: '/api/v3.1/tickets/R1', status: 503, times: 2 });
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_ticket_update', { id: 'R1', name: 'x' }, ctx)).toMatchObject({ ok: true });
    expect(h.crm.requestsTo('PUT', '/api/v3.1/tickets/R1').map((r) => r.status)).toEqual([503, 503, 200]);
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S03 ERR-2 PUT 5xx on every attempt → crm_server_error after maxRetries+1 requests', async () => {
    const o = org('put-5xx-all');
    await h.seedOrg(o);
    h.crm.seedRecord('tickets', 'R2');
    h.crm.inject({ method: 'PUT', pathPrefix: '/api/v3.1/tickets/R2', status: 500, times: 3 });
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_ticket_update', { id: 'R2', name: 'x' }, ctx)).toMatchObject({ ok: false, reason: 'crm_server_error', upstreamStatus: 500 });
    expect(h.crm.requestsTo('PUT', '/api/v3.1/tickets/R2')).toHaveLength(3);
    expect(h.events(ctx.conversation_id).at(-1)).toMatchObject({ reason: 'crm_server_error', upstream_status: 500 });
  });

  it('QACT-S04 AC-1 a slow PUT times out and is retried; all attempts slow → crm_timeout', async () => {
    const o = org('put-slow');
    await h.seedOrg(o);
    h.crm.seedRecord('deals', 'D1');
    h.crm.inject({ method: 'PUT', pathPrefix: '/api/v3.1/deals/D1', delayMs: 8_000, times: 1 });
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_deal_update', { id: 'D1', amount: 5 }, ctx)).toMatchObject({ ok: true });
    expect(h.crm.requestsTo('PUT', '/api/v3.1/deals/D1')).toHaveLength(2);
    h.crm.inject({ method: 'PUT', pathPrefix: '/api/v3.1/deals/D1', delayMs: 8_000, times: 3 });
    const ctx2 = context(o);
    expect(await h.executor.execute('qontak_crm_deal_update', { id: 'D1', amount: 6 }, ctx2)).toMatchObject({ ok: false, reason: 'crm_timeout' });
    expectLifecycle(h.events(ctx2.conversation_id), 'qontak_action_failed');
  });

  it('QACT-S01 AC-2 a create (POST) that times out is not retried: crm_create_outcome_unknown, one request', async () => {
    const o = org('post-slow');
    const { companyToken } = await h.seedOrg(o);
    h.crm.inject({ method: 'POST', pathPrefix: '/api/v3.1/deals', delayMs: 8_000, times: 1 });
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_deal_create', deal, ctx)).toMatchObject({ ok: false, reason: 'crm_create_outcome_unknown' });
    expect(h.crm.requestsTo('POST', '/api/v3.1/deals').filter((r) => r.headers.authorization === `Bearer ${companyToken}`)).toHaveLength(1);
    expect(h.events(ctx.conversation_id).at(-1)).toMatchObject({ event: 'qontak_action_failed', reason: 'crm_create_outcome_unknown' });
  });

  it('QACT-S02 AC-2 a create (POST) answered 5xx is not retried (it may have been applied) → crm_server_error', async () => {
    const o = org('post-5xx');
    const { companyToken } = await h.seedOrg(o);
    h.crm.inject({ method: 'POST', pathPrefix: '/api/v3.1/tickets', status: 502, times: 1 });
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_ticket_create', deal, ctx)).toMatchObject({ ok: false, reason: 'crm_server_error' });
    expect(h.crm.requestsTo('POST', '/api/v3.1/tickets').filter((r) => r.headers.authorization === `Bearer ${companyToken}`)).toHaveLength(1);
  });

  it('QACT-S02 AC-2 a 429 with Retry-After is retried (even for a create) and then succeeds', async () => {
    const o = org('post-429');
    const { companyToken } = await h.seedOrg(o);
    h.crm.inject({ method: 'POST', pathPrefix: '/api/v3.1/tickets', status: 429, retryAfter: '0', times: 1 });
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_ticket_create', deal, ctx)).toMatchObject({ ok: true });
    expect(h.crm.requestsTo('POST', '/api/v3.1/tickets').filter((r) => r.headers.authorization === `Bearer ${companyToken}`).map((r) => r.status)).toEqual([429, 201]);
  });

  it('QACT-S01 AC-2 the company token is stored encrypted: the registry row holds no token text', async () => {
    const o = org('at-rest');
    const { companyToken, refreshToken } = await h.seedOrg(o);
    const rows = await h.db.query<{ ciphertext: string; key_id: string }>('SELECT ciphertext, key_id FROM crm_company_tokens WHERE organization_id = $1', [o]);
    expect(rows).toHaveLength(1);
    expect(rows[0].ciphertext).not.toContain(companyToken);
    expect(Buffer.from(rows[0].ciphertext, 'base64').toString('latin1')).not.toContain(companyToken.slice(3));
    expect(rows[0].ciphertext).not.toContain(refreshToken);
    expect(rows[0].key_id).toMatch(/^[0-9a-f]{12}$/);
  });

  it('QACT-S01 ERR-1 an organization with no stored token uses the API key when configured', async () => {
    const o = org('no-token');
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_deal_create', deal, ctx)).toMatchObject({ ok: true });
    const post = h.crm.requestsTo('POST', '/api/v3.1/deals').at(-1)!;
    expect(post.headers['x-crm-api-key']).toBe(API_KEY);
  });
});

describe('token refresh under concurrency', () => {
  let s: Harness;
  beforeAll(async () => {
    // Generous timeout: this test is about the refresh count, not latency on a loaded 2-core machine.
    s = await openHarness({ crmConfig: { requestTimeoutMs: 20_000 } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('QACT-S01 ERR-1 50 parallel calls for one organization during token expiry share exactly one refresh', async () => {
    const o = org('stampede');
    await s.seedOrg(o);
    s.crm.expireTokens(o);
    s.crm.refreshDelayMs = 100; // keep the refresh open while the other 49 hit their 401s
    const before = s.crm.refreshCount();
    try {
      const ctxs = Array.from({ length: 50 }, () => context(o));
      const results = await Promise.all(ctxs.map((c) => s.executor.execute('qontak_crm_deal_create', deal, c)));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(s.crm.refreshCount() - before).toBe(1);
      const refreshed = s.emitter.events.filter((e) => e.event === 'qontak_action_token_refreshed' && e.organization_id === o);
      expect(refreshed).toHaveLength(1);
      expect(refreshed[0]).toMatchObject({ outcome: 'success' });
      for (const c of ctxs) expectLifecycle(s.events(c.conversation_id), 'qontak_action_executed');
    } finally {
      s.crm.refreshDelayMs = 0;
    }
  });

});

describe('CRM unreachable', () => {
  it('QACT-S03 ERR-2 CRM not listening: PUT is network_error after retries, POST to a refused port too', async () => {
    const dead = await openHarness({ crmConfig: { baseUrl: `http://127.0.0.1:${await closedPort()}`, maxRetries: 1 } });
    try {
      const o = org('dead');
      await dead.executor.tokens.put(o, { companyToken: 't', refreshToken: 'r' });
      const ctx = context(o);
      expect(await dead.executor.execute('qontak_crm_ticket_update', { id: '1', name: 'x' }, ctx)).toMatchObject({ ok: false, reason: 'network_error' });
      expect(await dead.executor.execute('qontak_crm_deal_create', deal, context(o))).toMatchObject({ ok: false, reason: 'network_error' });
      expectLifecycle(dead.events(ctx.conversation_id), 'qontak_action_failed');
    } finally {
      await dead.close();
    }
  });
});

/** A port nothing listens on: bind an ephemeral one, then release it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
