import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_TYPES, validateEvent } from '../../../src/events/index.ts';
import { context, expectLifecycle, openHarness, type Harness } from './executor-harness.ts';
import { untyped } from '../../helpers/untyped.ts';

let h: Harness;
beforeAll(async () => {
  h = await openHarness();
});
afterAll(async () => {
  await h?.close();
});

const org = (name: string) => `org-${name}-${Math.random().toString(36).slice(2, 8)}`;
const dealParams = { crm_pipeline_id: 11, crm_stage_id: 22, name: 'Deal for {{customer_name}}', creator_id: 5, tags: ['hot'] };

describe('create deal (QACT-S01)', () => {
  it('QACT-S01 AC-1 Create deal is a registered, enabled Mekari Qontak action and a builder save emits configured', async () => {
    expect(NODE_TYPES.qontak_crm_deal_create).toEqual({ group: 'mekari_qontak_crm', label: 'Create deal' });
    expect(h.executor.registry.isEnabled('qontak_crm_deal_create')).toBe(true);
    const o = org('s01ac1');
    expect(h.executor.recordConfigured({ node_type: 'qontak_crm_deal_create', agent_id: 'agent-7', organization_id: o })).toEqual({ ok: true });
    const configured = h.emitter.events.filter((e) => e.event === 'qontak_action_configured' && e.organization_id === o);
    expect(configured).toHaveLength(1);
    expect(validateEvent(configured[0]).ok).toBe(true);
    expect(configured[0]).toMatchObject({ node_type: 'qontak_crm_deal_create', agent_id: 'agent-7', source: 'agent-runtime' });
    expect(h.executor.recordConfigured({ node_type: untyped('not_an_action'), agent_id: 'agent-7', organization_id: o })).toMatchObject({ ok: false, reason: 'invalid_params' });
  });

  it('QACT-S01 AC-2 POST /api/v3.1/deals is sent with the body, Bearer-authenticated', async () => {
    const o = org('s01ac2');
    const { companyToken } = await h.seedOrg(o);
    const ctx = context(o, undefined, { contact: { name: 'Ana' } });
    const result = await h.executor.execute('qontak_crm_deal_create', dealParams, ctx);
    expect(result).toMatchObject({ ok: true, response: { response: { name: 'Deal for Ana', crm_pipeline_id: 11 } } });
    const posts = h.crm.requestsTo('POST', '/api/v3.1/deals').filter((r) => r.headers.authorization === `Bearer ${companyToken}`);
    expect(posts).toHaveLength(1);
    expect(posts[0].body).toEqual({ crm_pipeline_id: 11, crm_stage_id: 22, name: 'Deal for Ana', creator_id: 5, tags: ['hot'] });
    expect(posts[0].headers['content-type']).toBe('application/json');
    const events = h.events(ctx.conversation_id);
    expectLifecycle(events, 'qontak_action_executed');
    expect(events[1]).toMatchObject({ node_type: 'qontak_crm_deal_create', organization_id: o, agent_id: 'agent-7' });
  });

  it('QACT-S01 AC-3 {{customer_name}} in name is interpolated from the conversation contact', async () => {
    const o = org('s01ac3');
    const { companyToken } = await h.seedOrg(o);
    const ctx = context(o, undefined, { contact: { name: 'Budi Santoso', phone: '+62811' } });
    await h.executor.execute('qontak_crm_deal_create', { ...dealParams, name: 'Lead {{ customer_name }} / {{customer_phone}}' }, ctx);
    const [post] = h.crm.requestsTo('POST', '/api/v3.1/deals').filter((r) => r.headers.authorization === `Bearer ${companyToken}`);
    expect((post.body as { name: string }).name).toBe('Lead Budi Santoso / +62811');
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S01 AC-4 customer_contact_association looks leads up by phone and sends crm_lead_ids first', async () => {
    const o = org('s01ac4');
    const { companyToken } = await h.seedOrg(o);
    h.crm.addLead({ id: 501, phone: '+628123450001' });
    h.crm.addLead({ id: 502, phone: '+628123450001' });
    h.crm.addLead({ id: 999, phone: '+620000000000' });
    const ctx = context(o, undefined, { contact: { name: 'Citra', phone: '+628123450001' } });
    const result = await h.executor.execute('qontak_crm_deal_create', { ...dealParams, customer_contact_association: true }, ctx);
    expect(result.ok).toBe(true);
    const mine = h.crm.requests.filter((r) => r.headers.authorization === `Bearer ${companyToken}`);
    expect(mine.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v3.1/leads', 'POST /api/v3.1/deals']);
    expect(mine[0].query).toEqual({ phone: '+628123450001' });
    expect(mine[1].body).toMatchObject({ crm_lead_ids: [501, 502], name: 'Deal for Citra' });
    expect(mine[1].body).not.toHaveProperty('customer_contact_association');
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S01 ERR-1 on 401 the company token is refreshed, stored and the create retried once', async () => {
    const o = org('s01err1');
    const old = await h.seedOrg(o);
    h.crm.expireTokens(o);
    const before = h.crm.refreshCount();
    const ctx = context(o, undefined, { contact: { name: 'Dewi' } });
    const result = await h.executor.execute('qontak_crm_deal_create', dealParams, ctx);
    expect(result.ok).toBe(true);
    expect(h.crm.refreshCount()).toBe(before + 1);
    const refresh = h.crm.requestsTo('POST', '/api/v3.1/teams/company_token').at(-1)!;
    expect(refresh.body).toEqual({ refresh_token: old.refreshToken });
    const posts = h.crm.requestsTo('POST', '/api/v3.1/deals').slice(-2);
    expect(posts.map((p) => p.status)).toEqual([401, 201]);
    expect(posts[0].headers.authorization).toBe(`Bearer ${old.companyToken}`);
    expect(posts[1].headers.authorization).not.toBe(`Bearer ${old.companyToken}`);
    // The new token is what the store now holds (and what the next call uses without another refresh).
    const stored = await h.executor.tokens.get(o, true);
    expect(posts[1].headers.authorization).toBe(`Bearer ${stored!.companyToken}`);
    const events = h.events(ctx.conversation_id);
    expectLifecycle(events, 'qontak_action_executed');
    expect(events.map((e) => e.event)).toEqual(['qontak_action_invoked', 'qontak_action_token_refreshed', 'qontak_action_executed']);
    expect(events[1]).toMatchObject({ outcome: 'success', organization_id: o, node_type: 'qontak_crm_deal_create' });
  });

  it('QACT-S01 ERR-1 persistent failure surfaces to the runtime: refresh refused, no API key → crm_token_refresh_failed', async () => {
    const o = org('s01err1b');
    await h.seedOrg(o);
    h.crm.expireTokens(o);
    h.crm.refreshMode = 'fail_401';
    try {
      const ctx = context(o, undefined, { contact: { name: 'Eko' } });
      const result = await h.executor.execute('qontak_crm_deal_create', dealParams, ctx);
      expect(result).toMatchObject({ ok: false, reason: 'crm_token_refresh_failed' });
      const events = h.events(ctx.conversation_id);
      expectLifecycle(events, 'qontak_action_failed');
      expect(events.find((e) => e.event === 'qontak_action_token_refreshed')).toMatchObject({ outcome: 'failed', organization_id: o });
      expect(events.at(-1)).toMatchObject({ reason: 'crm_token_refresh_failed', upstream_status: 401 });
    } finally {
      h.crm.refreshMode = 'ok';
    }
  });
});

describe('create ticket (QACT-S02)', () => {
  const ticketParams = { crm_pipeline_id: 3, crm_stage_id: 4, name: 'Support: {{customer_name}}' };

  it('QACT-S02 AC-1 Create Ticket is a registered, enabled Mekari Qontak action and a builder save emits configured', async () => {
    expect(NODE_TYPES.qontak_crm_ticket_create.group).toBe('mekari_qontak_crm');
    expect(h.executor.registry.isEnabled('qontak_crm_ticket_create')).toBe(true);
    const o = org('s02ac1');
    h.executor.recordConfigured({ node_type: 'qontak_crm_ticket_create', agent_id: 'agent-9', organization_id: o });
    // The agent's first configuration of the day also reports it active (the adoption denominator).
    expect(h.emitter.events.filter((e) => e.organization_id === o)).toMatchObject([
      { event: 'qontak_agent_active', agent_id: 'agent-9' },
      { event: 'qontak_action_configured', node_type: 'qontak_crm_ticket_create', agent_id: 'agent-9' },
    ]);
  });

  it('QACT-S02 AC-2 POST /api/v3.1/tickets is sent with the body, company-token (Bearer) authenticated', async () => {
    const o = org('s02ac2');
    const { companyToken } = await h.seedOrg(o);
    const ctx = context(o, undefined, { contact: { name: 'Fajar' } });
    const result = await h.executor.execute('qontak_crm_ticket_create', ticketParams, ctx);
    expect(result.ok).toBe(true);
    const [post] = h.crm.requestsTo('POST', '/api/v3.1/tickets').filter((r) => r.headers.authorization === `Bearer ${companyToken}`);
    expect(post.body).toEqual({ crm_pipeline_id: 3, crm_stage_id: 4, name: 'Support: Fajar' });
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S02 AC-3 {{customer_name}} is interpolated; an unresolvable name is refused before any request', async () => {
    const o = org('s02ac3');
    const { companyToken } = await h.seedOrg(o);
    const ctx = context(o, undefined, { contact: { name: 'Gita' } });
    await h.executor.execute('qontak_crm_ticket_create', { ...ticketParams, name: '{{customer_name}}' }, ctx);
    const mine = () => h.crm.requests.filter((r) => r.headers.authorization === `Bearer ${companyToken}`);
    expect(mine().map((r) => (r.body as { name: string }).name)).toEqual(['Gita']);
    // No contact name: the name interpolates to '' and the schema refuses it — nothing is sent.
    const ctx2 = context(o, undefined, { contact: {} });
    const result = await h.executor.execute('qontak_crm_ticket_create', { ...ticketParams, name: '{{customer_name}}' }, ctx2);
    expect(result).toMatchObject({ ok: false, reason: 'invalid_params' });
    expect(mine()).toHaveLength(1);
    expectLifecycle(h.events(ctx2.conversation_id), 'qontak_action_failed');
  });

  it('QACT-S02 ERR-1 on 401 the token is refreshed and the create retried; a 401 after refresh is crm_unauthorized', async () => {
    const o = org('s02err1');
    await h.seedOrg(o);
    h.crm.expireTokens(o);
    const ctx = context(o, undefined, { contact: { name: 'Hana' } });
    expect(await h.executor.execute('qontak_crm_ticket_create', ticketParams, ctx)).toMatchObject({ ok: true });
    expect(h.events(ctx.conversation_id).map((e) => e.event)).toEqual([
      'qontak_action_invoked',
      'qontak_action_token_refreshed',
      'qontak_action_executed',
    ]);
    // Persistent 401: the refreshed token is refused too (injected), no API key configured.
    h.crm.expireTokens(o);
    h.crm.inject({ method: 'POST', pathPrefix: '/api/v3.1/tickets', status: 401, times: 2 });
    const ctx2 = context(o, undefined, { contact: { name: 'Hana' } });
    const result = await h.executor.execute('qontak_crm_ticket_create', ticketParams, ctx2);
    expect(result).toMatchObject({ ok: false, reason: 'crm_unauthorized' });
    expect(h.events(ctx2.conversation_id).at(-1)).toMatchObject({ event: 'qontak_action_failed', reason: 'crm_unauthorized' });
    expectLifecycle(h.events(ctx2.conversation_id), 'qontak_action_failed');
  });
});

describe('update ticket (QACT-S03) and update deal (QACT-S04)', () => {
  it('QACT-S03 AC-1 Update Ticket is a registered, enabled Mekari Qontak action and a builder save emits configured', async () => {
    expect(NODE_TYPES.qontak_crm_ticket_update).toEqual({ group: 'mekari_qontak_crm', label: 'Update ticket' });
    expect(h.executor.registry.isEnabled('qontak_crm_ticket_update')).toBe(true);
    const o = org('s03ac1');
    h.executor.recordConfigured({ node_type: 'qontak_crm_ticket_update', agent_id: 'agent-1', organization_id: o });
    expect(h.emitter.events.filter((e) => e.organization_id === o)).toMatchObject([{ event: 'qontak_agent_active' }, { event: 'qontak_action_configured' }]);
  });

  it('QACT-S03 AC-2 PUT /api/v3.1/tickets/{id} is sent with the updated fields, company-token authenticated', async () => {
    const o = org('s03ac2');
    const { companyToken } = await h.seedOrg(o);
    h.crm.seedRecord('tickets', 'T-77', { name: 'old' });
    const ctx = context(o, undefined, { variables: { ticket_id: 'T-77' } });
    const result = await h.executor.execute('qontak_crm_ticket_update', { id: '{{ticket_id}}', crm_stage_id: 9, name: 'escalated' }, ctx);
    expect(result).toMatchObject({ ok: true });
    const [put] = h.crm.requestsTo('PUT', '/api/v3.1/tickets/').filter((r) => r.headers.authorization === `Bearer ${companyToken}`);
    expect(put.path).toBe('/api/v3.1/tickets/T-77');
    expect(put.body).toEqual({ crm_stage_id: 9, name: 'escalated' });
    expect(h.crm.record('tickets', 'T-77')).toMatchObject({ name: 'escalated', crm_stage_id: 9 });
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S03 ERR-1 id that cannot be resolved: no update is sent, failure id_unresolved surfaces', async () => {
    const o = org('s03err1');
    const { companyToken } = await h.seedOrg(o);
    for (const params of [{ id: '{{ticket_id}}', name: 'x' }, { name: 'x' }, { id: '  ', name: 'x' }]) {
      const ctx = context(o);
      const result = await h.executor.execute('qontak_crm_ticket_update', params, ctx);
      expect(result).toMatchObject({ ok: false, reason: 'id_unresolved' });
      expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_failed');
      expect(h.events(ctx.conversation_id)[1]).toMatchObject({ reason: 'id_unresolved' });
    }
    expect(h.crm.requests.filter((r) => r.headers.authorization === `Bearer ${companyToken}`)).toHaveLength(0);
  });

  it('QACT-S03 ERR-2 on 401 the token is refreshed and the PUT retried', async () => {
    const o = org('s03err2');
    const old = await h.seedOrg(o);
    h.crm.seedRecord('tickets', 'T-88');
    h.crm.expireTokens(o);
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_ticket_update', { id: 'T-88', name: 'n' }, ctx)).toMatchObject({ ok: true });
    const puts = h.crm.requestsTo('PUT', '/api/v3.1/tickets/T-88');
    expect(puts.map((p) => p.status)).toEqual([401, 200]);
    expect(puts[0].headers.authorization).toBe(`Bearer ${old.companyToken}`);
    expect(h.events(ctx.conversation_id).map((e) => e.event)).toEqual([
      'qontak_action_invoked',
      'qontak_action_token_refreshed',
      'qontak_action_executed',
    ]);
  });

  it('QACT-S04 AC-1 PUT /api/v3.1/deals/{id} updates name/stage_id/amount, company-token authenticated', async () => {
    const o = org('s04ac1');
    const { companyToken } = await h.seedOrg(o);
    h.crm.seedRecord('deals', '4242', { name: 'old' });
    const ctx = context(o);
    const result = await h.executor.execute(
      'qontak_crm_deal_update',
      { id: 4242, name: 'won', stage_id: '7', amount: 1500000, include_logs: true, x_trace_id: 'trace-1' },
      ctx,
    );
    expect(result).toMatchObject({ ok: true, response: { response: { id: '4242', name: 'won', amount: 1500000 } } });
    const [put] = h.crm.requestsTo('PUT', '/api/v3.1/deals/4242');
    expect(put.headers.authorization).toBe(`Bearer ${companyToken}`);
    expect(put.body).toEqual({ name: 'won', stage_id: '7', amount: 1500000 });
    expect(put.query).toEqual({ include_logs: 'true' });
    expect(put.headers['x-trace-id']).toBe('trace-1');
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S04 ERR-1 id that cannot be resolved: no update is sent and the failure surfaces', async () => {
    const o = org('s04err1');
    const { companyToken } = await h.seedOrg(o);
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_deal_update', { id: '{{deal_id}}', amount: 1 }, ctx)).toMatchObject({ ok: false, reason: 'id_unresolved' });
    expect(h.crm.requests.filter((r) => r.headers.authorization === `Bearer ${companyToken}`)).toHaveLength(0);
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_failed');
  });

  it('QACT-S04 ERR-1 an id the CRM does not know is a crm_client_error carrying the upstream status', async () => {
    const o = org('s04err1b');
    await h.seedOrg(o);
    const ctx = context(o);
    expect(await h.executor.execute('qontak_crm_deal_update', { id: 'nope', amount: 1 }, ctx)).toMatchObject({ ok: false, reason: 'crm_client_error', upstreamStatus: 404 });
    expect(h.crm.requestsTo('PUT', '/api/v3.1/deals/nope')).toHaveLength(1);
    expect(h.events(ctx.conversation_id).at(-1)).toMatchObject({ reason: 'crm_client_error', upstream_status: 404 });
  });
});

describe('CRM parameter validation', () => {
  it('QACT-S01 ERR-1 invalid parameters are refused before any request (invalid_params)', async () => {
    const o = org('params');
    const { companyToken } = await h.seedOrg(o);
    const bad = [{ crm_stage_id: 1, name: 'n' }, { ...dealParams, crm_pipeline_id: 'abc' }, { ...dealParams, surprise: true }, null];
    for (const params of bad) {
      const ctx = context(o, undefined, { contact: { name: 'X' } });
      expect(await h.executor.execute('qontak_crm_deal_create', untyped(params), ctx)).toMatchObject({ ok: false, reason: 'invalid_params' });
      expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_failed');
    }
    expect(h.crm.requests.filter((r) => r.headers.authorization === `Bearer ${companyToken}`)).toHaveLength(0);
  });
});
