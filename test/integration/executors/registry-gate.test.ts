import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateRegistry, setOrganizationEnabled, setRegistryEnabled } from '../../../src/executors/index.ts';
import { context, expectLifecycle, openHarness, pollUntil, type Harness } from './executor-harness.ts';

describe('registry gating on PostgreSQL', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('QACT-S05 AC-1 migrateRegistry is idempotent and seeds every action enabled', async () => {
    await migrateRegistry(h.db);
    await migrateRegistry(h.db);
    const rows = await h.db.query<{ node_type: string; enabled: boolean }>('SELECT node_type, enabled FROM node_registries ORDER BY node_type');
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.enabled)).toBe(true);
  });

  it('QACT-S05 AC-1 an UPDATE in SQL disables the action in the running executor within 1 s; nothing is touched', async () => {
    const o = `org-gate-${Date.now()}`;
    await h.seedRoom(o, 'wa-g', 'room-g');
    try {
      const started = Date.now();
      await h.db.query(`UPDATE node_registries SET enabled = false, updated_by = 'psql', reason = 'test' WHERE node_type = 'qontak_chat_room_assign'`);
      await pollUntil(() => !h.executor.registry.isEnabled('qontak_chat_room_assign'), 10_000, 10);
      const propagationMs = Date.now() - started;
      // Reported, not asserted as a timing (the 1 s budget is measured by the benchmark and logged here).
      console.log(`registry disable propagated in ${propagationMs} ms`);
      const ctx = context(o, undefined, { channel_room_id: 'wa-g' });
      expect(await h.executor.execute('qontak_chat_room_assign', { assign_type: 'auto' }, ctx)).toMatchObject({ ok: false, reason: 'registry_disabled' });
      expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_failed');
      expect(h.events(ctx.conversation_id)[1]).toMatchObject({ reason: 'registry_disabled' });
      expect(await h.jobs()).toEqual([]);
      // Other actions are unaffected.
      expect(h.executor.registry.isEnabled('qontak_chat_room_resolve')).toBe(true);
    } finally {
      await h.db.query(`UPDATE node_registries SET enabled = true WHERE node_type = 'qontak_chat_room_assign'`);
      await pollUntil(() => h.executor.registry.isEnabled('qontak_chat_room_assign'));
    }
    const ctx = context(o, undefined, { channel_room_id: 'wa-g' });
    expect(await h.executor.execute('qontak_chat_room_assign', { assign_type: 'auto' }, ctx)).toMatchObject({ ok: true });
    expect(await h.jobs()).toHaveLength(1);
  });

  it('QACT-S01 AC-1 setRegistryEnabled updates the flag and writes the audit row in one transaction; a disabled CRM action sends nothing', async () => {
    const o = `org-kill-${Date.now()}`;
    const { companyToken } = await h.seedOrg(o);
    expect(await setRegistryEnabled(h.db, 'qontak_crm_deal_create', false, { actor: 'alert-evaluator', reason: 'failure rate 31%', details: { rule: 'failed_rate' } })).toBe(true);
    await pollUntil(() => !h.executor.registry.isEnabled('qontak_crm_deal_create'));
    const ctx = context(o, undefined, { contact: { name: 'A' } });
    expect(await h.executor.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 2, name: 'x' }, ctx)).toMatchObject({ ok: false, reason: 'registry_disabled' });
    expect(h.crm.requests.filter((r) => r.headers.authorization === `Bearer ${companyToken}`)).toEqual([]);
    const [row] = await h.db.query<{ enabled: boolean; updated_by: string; reason: string }>(`SELECT enabled, updated_by, reason FROM node_registries WHERE node_type = 'qontak_crm_deal_create'`);
    expect(row).toEqual({ enabled: false, updated_by: 'alert-evaluator', reason: 'failure rate 31%' });
    expect(await setRegistryEnabled(h.db, 'qontak_crm_deal_create', true, { actor: 'oncall@example.com', reason: 'fixed' })).toBe(true);
    const audit = await h.db.query<{ action: string; actor: string; details: Record<string, unknown> }>(
      `SELECT action, actor, details FROM node_registry_audit WHERE node_type = 'qontak_crm_deal_create' ORDER BY id`,
    );
    expect(audit).toEqual([
      { action: 'disable', actor: 'alert-evaluator', details: { rule: 'failed_rate' } },
      { action: 'enable', actor: 'oncall@example.com', details: {} },
    ]);
    expect(await setRegistryEnabled(h.db, 'no_such_action', false, { actor: 'x' })).toBe(false);
    await pollUntil(() => h.executor.registry.isEnabled('qontak_crm_deal_create'));
  });

  it('an organization-scoped disable refuses that organization only, with scope organization in the result and the blocked event; the global flag wins over it', async () => {
    const off = `org-off-${Date.now()}`;
    const on = `org-on-${Date.now()}`;
    await h.seedRoom(off, 'wa-o', 'room-o');
    await h.seedRoom(on, 'wa-n', 'room-n');
    const before = (await h.jobs()).length;
    expect(await setOrganizationEnabled(h.db, 'qontak_chat_room_resolve', off, false, { actor: 'alert:sustained-failure-kill-switch', reason: 'concentrated', details: { share: 1 } })).toBe(true);
    await pollUntil(() => !h.executor.registry.verdict('qontak_chat_room_resolve', off).allowed);
    expect(h.executor.registry.organizationDisables()).toEqual({ qontak_chat_room_resolve: [off] });
    expect(h.executor.registry.isEnabled('qontak_chat_room_resolve')).toBe(true);

    const refused = context(off, undefined, { channel_room_id: 'wa-o' });
    expect(await h.executor.execute('qontak_chat_room_resolve', {}, refused)).toMatchObject({ ok: false, reason: 'registry_disabled', scope: 'organization' });
    expectLifecycle(h.events(refused.conversation_id), 'qontak_action_failed');
    expect(h.events(refused.conversation_id)[1]).toMatchObject({ reason: 'registry_disabled', registry_scope: 'organization' });
    const served = context(on, undefined, { channel_room_id: 'wa-n' });
    expect(await h.executor.execute('qontak_chat_room_resolve', {}, served)).toMatchObject({ ok: true });
    expect((await h.jobs()).length).toBe(before + 1);

    // Globally off: every organization is refused with scope global, the organization-scoped one included.
    await setRegistryEnabled(h.db, 'qontak_chat_room_resolve', false, { actor: 'oncall', reason: 'global' });
    await pollUntil(() => !h.executor.registry.isEnabled('qontak_chat_room_resolve'));
    for (const org of [off, on]) {
      const ctx = context(org, undefined, { channel_room_id: org === off ? 'wa-o' : 'wa-n' });
      expect(await h.executor.execute('qontak_chat_room_resolve', {}, ctx)).toMatchObject({ ok: false, reason: 'registry_disabled', scope: 'global' });
      expect(h.events(ctx.conversation_id)[1]).toMatchObject({ reason: 'registry_disabled', registry_scope: 'global' });
    }
    await setRegistryEnabled(h.db, 'qontak_chat_room_resolve', true, { actor: 'oncall', reason: 'fixed' });
    expect(await setOrganizationEnabled(h.db, 'qontak_chat_room_resolve', off, true, { actor: 'cs', reason: 'token fixed' })).toBe(true);
    await pollUntil(() => h.executor.registry.verdict('qontak_chat_room_resolve', off).allowed);
    expect(h.executor.registry.organizationDisables()).toEqual({});

    const audit = await h.db.query<{ scope: string; organization_id: string | null; action: string; actor: string }>(
      `SELECT scope, organization_id, action, actor FROM node_registry_audit WHERE node_type = 'qontak_chat_room_resolve' ORDER BY id`,
    );
    expect(audit).toEqual([
      { scope: 'organization', organization_id: off, action: 'disable', actor: 'alert:sustained-failure-kill-switch' },
      { scope: 'global', organization_id: null, action: 'disable', actor: 'oncall' },
      { scope: 'global', organization_id: null, action: 'enable', actor: 'oncall' },
      { scope: 'organization', organization_id: off, action: 'enable', actor: 'cs' },
    ]);
    expect(await setOrganizationEnabled(h.db, 'no_such_action', off, false, { actor: 'x' })).toBe(false);
  });

  it('a disabled switch that is probing lets one call in probe_every through, its outcome marked probe; the others are refused', async () => {
    const org = `org-probe-${Date.now()}`;
    await h.seedRoom(org, 'wa-p', 'room-p');
    await setOrganizationEnabled(h.db, 'qontak_chat_room_assign', org, false, { actor: 'alert:sustained-failure-kill-switch', reason: 'concentrated' });
    await h.db.query(`UPDATE node_registry_organizations SET probe_every = 3 WHERE node_type = 'qontak_chat_room_assign' AND organization_id = $1`, [org]);
    await pollUntil(() => h.executor.registry.probing()[`qontak_chat_room_assign/${org}`] === 3);
    const before = (await h.jobs()).length;
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const ctx = context(org, undefined, { channel_room_id: 'wa-p' });
      const r = await h.executor.execute('qontak_chat_room_assign', { assign_type: 'auto' }, ctx);
      const last = h.events(ctx.conversation_id).at(-1) as Record<string, unknown>;
      outcomes.push(r.ok ? `probe:${String(last.probe)}` : `${r.reason}:${String(r.scope)}:${String(last.probe)}`);
    }
    expect(outcomes).toEqual([
      'registry_disabled:organization:undefined',
      'registry_disabled:organization:undefined',
      'probe:true',
      'registry_disabled:organization:undefined',
      'registry_disabled:organization:undefined',
      'probe:true',
    ]);
    expect((await h.jobs()).length).toBe(before + 2);
    // switched back on: no more probes, every call goes through unmarked
    await setOrganizationEnabled(h.db, 'qontak_chat_room_assign', org, true, { actor: 'cs', reason: 'fixed' });
    await pollUntil(() => h.executor.registry.verdict('qontak_chat_room_assign', org).allowed);
    const ctx = context(org, undefined, { channel_room_id: 'wa-p' });
    expect(await h.executor.execute('qontak_chat_room_assign', { assign_type: 'auto' }, ctx)).toMatchObject({ ok: true });
    expect(h.events(ctx.conversation_id).at(-1)).not.toHaveProperty('probe');
  });

  it('QACT-S07 AC-1 an action with no registry row is refused (registry_disabled)', async () => {
    await h.db.query(`DELETE FROM node_registries WHERE node_type = 'qontak_chat_room_tag'`);
    await pollUntil(() => !h.executor.registry.isEnabled('qontak_chat_room_tag'));
    const ctx = context('org-x');
    expect(await h.executor.execute('qontak_chat_room_tag', { tags: ['a'] }, ctx)).toMatchObject({ ok: false, reason: 'registry_disabled' });
    await migrateRegistry(h.db);
    await pollUntil(() => h.executor.registry.isEnabled('qontak_chat_room_tag'));
  });
});

describe('the same executor on PGlite (embedded registry database)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness({ store: 'pglite' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('QACT-S07 AC-1 tags a room, then stops within a poll after a SQL disable (LISTEN/NOTIFY on PGlite)', async () => {
    const o = 'org-pglite';
    await h.seedRoom(o, 'wa-p', 'room-p');
    const ctx = context(o, undefined, { channel_room_id: 'wa-p' });
    expect(await h.executor.execute('qontak_chat_room_tag', { tags: 'a,b' }, ctx)).toMatchObject({ ok: true });
    expect(await h.jobs()).toMatchObject([{ class: 'BulkTagsRoomWorker', args: ['room-p', o, ['a', 'b']] }]);
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');

    await h.db.query(`UPDATE node_registries SET enabled = false WHERE node_type = 'qontak_chat_room_tag'`);
    await pollUntil(() => !h.executor.registry.isEnabled('qontak_chat_room_tag'));
    const ctx2 = context(o, undefined, { channel_room_id: 'wa-p' });
    expect(await h.executor.execute('qontak_chat_room_tag', { tags: 'c' }, ctx2)).toMatchObject({ ok: false, reason: 'registry_disabled' });
    expect(await h.jobs()).toHaveLength(1);
  });

  it('QACT-S01 ERR-1 CRM refresh works with tokens stored in PGlite', async () => {
    const o = 'org-pglite-crm';
    await h.seedOrg(o);
    h.crm.expireTokens(o);
    const ctx = context(o, undefined, { contact: { name: 'P' } });
    expect(await h.executor.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 2, name: '{{customer_name}}' }, ctx)).toMatchObject({ ok: true });
    expect(h.crm.refreshCount()).toBe(1);
    expect(h.events(ctx.conversation_id).map((e) => e.event)).toEqual(['qontak_action_invoked', 'qontak_action_token_refreshed', 'qontak_action_executed']);
  });
});
