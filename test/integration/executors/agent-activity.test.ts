import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRegistryEnabled } from '../../../src/executors/index.ts';
import { validateEvent } from '../../../src/events/index.ts';
import { context, openHarness, pollUntil, type Harness } from './executor-harness.ts';
import { untyped } from '../../helpers/untyped.ts';

const DAY = 86_400_000;
let clockMs = Date.UTC(2026, 10, 30, 23, 58);
let h: Harness;
beforeAll(async () => {
  h = await openHarness({ store: 'pglite', clock: () => clockMs });
});
afterAll(async () => {
  await h?.close();
});

const org = (name: string) => `org-${name}-${Math.random().toString(36).slice(2, 8)}`;
const ofOrg = (o: string) => h.emitter.events.filter((e) => e.organization_id === o);

describe('the executor reports active agents and configuration changes (adoption from the runtime)', () => {
  it('sends qontak_agent_active once per agent per UTC day, on its first call or configuration, before anything else', async () => {
    const o = org('active');
    await setRegistryEnabled(h.db, 'qontak_chat_room_resolve', false, { actor: 'test', reason: 'blocked call in the test' });
    await pollUntil(() => !h.executor.registry.isEnabled('qontak_chat_room_resolve'));
    const ctx = context(o);
    await h.executor.execute('qontak_chat_room_resolve', {}, ctx);
    await h.executor.execute('qontak_chat_room_resolve', {}, context(o));
    h.executor.recordConfigured({ node_type: 'qontak_chat_room_tag', agent_id: ctx.agent_id, organization_id: o });
    h.executor.recordConfigured({ node_type: 'qontak_chat_room_tag', agent_id: 'agent-other', organization_id: o });
    expect(ofOrg(o).map((e) => [e.event, 'agent_id' in e ? e.agent_id : ''])).toEqual([
      ['qontak_agent_active', ctx.agent_id],
      ['qontak_action_invoked', ctx.agent_id],
      ['qontak_action_failed', ctx.agent_id],
      ['qontak_action_invoked', ctx.agent_id],
      ['qontak_action_failed', ctx.agent_id],
      ['qontak_action_configured', ctx.agent_id],
      ['qontak_agent_active', 'agent-other'],
      ['qontak_action_configured', 'agent-other'],
    ]);
    // Past midnight UTC: a new day, a new heartbeat on the next call, with that day's time.
    clockMs += 3 * 60_000;
    await h.executor.execute('qontak_chat_room_resolve', {}, context(o));
    const heartbeats = ofOrg(o).filter((e) => e.event === 'qontak_agent_active' && e.agent_id === ctx.agent_id);
    expect(heartbeats.map((e) => Math.floor(e.timestamp / DAY))).toEqual([Math.floor(clockMs / DAY) - 1, Math.floor(clockMs / DAY)]);
    await setRegistryEnabled(h.db, 'qontak_chat_room_resolve', true, { actor: 'test', reason: 'end of the test' });
  });

  it('recordAgentActive sends the heartbeat whenever called; recordUnconfigured ends a configuration; all pass the contract', () => {
    const o = org('explicit');
    expect(h.executor.recordAgentActive({ organization_id: o, agent_id: 'agent-idle' })).toEqual({ ok: true });
    expect(h.executor.recordAgentActive({ organization_id: o, agent_id: 'agent-idle' })).toEqual({ ok: true });
    expect(h.executor.recordUnconfigured({ organization_id: o, agent_id: 'agent-idle', node_type: 'qontak_crm_deal_create', change: 'replaced' })).toEqual({ ok: true });
    expect(h.executor.recordUnconfigured({ organization_id: o, agent_id: 'agent-idle', node_type: 'qontak_crm_deal_create' })).toEqual({ ok: true });
    expect(ofOrg(o)).toMatchObject([
      { event: 'qontak_agent_active', agent_id: 'agent-idle' },
      { event: 'qontak_agent_active', agent_id: 'agent-idle' },
      { event: 'qontak_action_unconfigured', node_type: 'qontak_crm_deal_create', change: 'replaced' },
      { event: 'qontak_action_unconfigured', node_type: 'qontak_crm_deal_create' },
    ]);
    expect(ofOrg(o)[3]).not.toHaveProperty('change');
    for (const e of ofOrg(o)) expect(validateEvent(e)).toMatchObject({ ok: true });
  });

  it('refuses invalid input as a value and emits nothing', () => {
    const o = org('invalid');
    expect(h.executor.recordAgentActive({ organization_id: o, agent_id: '' })).toMatchObject({ ok: false, reason: 'invalid_params' });
    expect(h.executor.recordUnconfigured({ organization_id: o, agent_id: 'a', node_type: untyped('qontak_fax_send') })).toMatchObject({ ok: false, reason: 'invalid_params' });
    expect(h.executor.recordUnconfigured({ organization_id: o, agent_id: 'a', node_type: 'qontak_crm_deal_create', change: 'archived' as 'removed' })).toMatchObject({ ok: false, reason: 'invalid_params' });
    expect(ofOrg(o)).toEqual([]);
  });
});
