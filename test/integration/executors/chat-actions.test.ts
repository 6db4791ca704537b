import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

/** A room with its integration, and a context pointing at it. */
async function roomFor(name: string) {
  const o = org(name);
  const channelRoomId = `wa-${Math.random().toString(36).slice(2, 10)}`;
  const roomId = `room-${Math.random().toString(36).slice(2, 10)}`;
  await h.seedRoom(o, channelRoomId, roomId);
  return { o, roomId, ctx: context(o, undefined, { channel_room_id: channelRoomId, contact: { name: 'Rina' } }) };
}

async function jobsFor(roomId: string) {
  return (await h.jobs()).filter((j) => (j.args as unknown[])[0] === roomId);
}

function expectSidekiqShape(job: Record<string, unknown>, queue: string) {
  expect(job.jid).toMatch(/^[0-9a-f]{24}$/);
  expect(job.queue).toBe(queue);
  expect(job.retry).toBe(true);
  expect(typeof job.created_at).toBe('number');
  expect(job.enqueued_at).toBe(job.created_at);
  // Float seconds since the epoch, as Sidekiq 7 writes them.
  expect(job.created_at as number).toBeGreaterThan(1.6e9);
  expect(job.created_at as number).toBeLessThan(1e11);
}

describe('assign agent (QACT-S05)', () => {
  it('QACT-S05 AC-1 assign_type=auto enqueues AssignAgentRoundRobinWorker in Sidekiq format', async () => {
    const { o, roomId, ctx } = await roomFor('s05ac1');
    const result = await h.executor.execute('qontak_chat_room_assign', { assign_type: 'auto' }, ctx);
    expect(result).toMatchObject({ ok: true, response: { class: 'AssignAgentRoundRobinWorker', room_id: roomId } });
    const jobs = await jobsFor(roomId);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ class: 'AssignAgentRoundRobinWorker', args: [roomId, o, null] });
    expectSidekiqShape(jobs[0], h.executor.queue.options.queue);
    expect(await h.redis.sismember(h.executor.queue.queuesKey(), h.executor.queue.options.queue)).toBe(1);
    expect((result as { response: { jid: string } }).response.jid).toBe(jobs[0].jid);
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S05 AC-2 assign_type=division + division_id scopes the round-robin worker to that division', async () => {
    const { o, roomId, ctx } = await roomFor('s05ac2');
    expect(await h.executor.execute('qontak_chat_room_assign', { assign_type: 'division', division_id: 'div-3' }, ctx)).toMatchObject({ ok: true });
    expect(await jobsFor(roomId)).toMatchObject([{ class: 'AssignAgentRoundRobinWorker', args: [roomId, o, 'div-3'] }]);
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S05 AC-3 assign_type=agent + agent_id enqueues AssignAgentWorker with the optional closing_message', async () => {
    const { o, roomId, ctx } = await roomFor('s05ac3');
    await h.executor.execute('qontak_chat_room_assign', { assign_type: 'agent', agent_id: 812, closing_message: 'Hi {{customer_name}}, an agent will help you' }, ctx);
    await h.executor.execute('qontak_chat_room_assign', { assign_type: 'agent', agent_id: '813' }, context(o, undefined, { channel_room_id: ctx.channel_room_id }));
    expect(await jobsFor(roomId)).toMatchObject([
      { class: 'AssignAgentWorker', args: [roomId, o, '812', 'Hi Rina, an agent will help you'] },
      { class: 'AssignAgentWorker', args: [roomId, o, '813', null] },
    ]);
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it("QACT-S05 ERR-1 the room's channel integration is not found: error, no worker enqueued", async () => {
    const o = org('s05err1');
    await h.seedRoom(o, 'wa-no-int', 'room-no-int', { integration: false });
    // An inactive integration counts as missing too.
    await h.executor.rooms.upsertIntegration({ id: `int-off-${o}`, organizationId: o, channel: 'ig', active: false });
    await h.executor.rooms.upsertRoom({ organizationId: o, channelRoomId: 'wa-off', roomId: 'room-off', channelIntegrationId: `int-off-${o}` });
    for (const channelRoomId of ['wa-no-int', 'wa-off']) {
      const ctx = context(o, undefined, { channel_room_id: channelRoomId });
      expect(await h.executor.execute('qontak_chat_room_assign', { assign_type: 'auto' }, ctx)).toMatchObject({ ok: false, reason: 'channel_integration_not_found' });
      expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_failed');
      expect(h.events(ctx.conversation_id)[1]).toMatchObject({ reason: 'channel_integration_not_found' });
    }
    expect((await h.jobs()).filter((j) => (j.args as unknown[])[1] === o)).toEqual([]);
  });

  it('QACT-S05 ERR-2 division/agent with a blank id errors "Division ID required" / "Agent ID required", no job', async () => {
    const { o, roomId, ctx } = await roomFor('s05err2');
    expect(await h.executor.execute('qontak_chat_room_assign', { assign_type: 'division' }, ctx)).toEqual({
      ok: false,
      reason: 'division_id_required',
      message: 'Division ID required',
    });
    const ctx2 = context(o, undefined, { channel_room_id: ctx.channel_room_id });
    expect(await h.executor.execute('qontak_chat_room_assign', { assign_type: 'agent', agent_id: '  ' }, ctx2)).toEqual({
      ok: false,
      reason: 'agent_id_required',
      message: 'Agent ID required',
    });
    expect(await jobsFor(roomId)).toEqual([]);
    expect(h.events(ctx.conversation_id).at(-1)).toMatchObject({ event: 'qontak_action_failed', reason: 'division_id_required' });
    expect(h.events(ctx2.conversation_id).at(-1)).toMatchObject({ event: 'qontak_action_failed', reason: 'agent_id_required' });
    expectLifecycle(h.events(ctx2.conversation_id), 'qontak_action_failed');
  });
});

describe('resolve conversation (QACT-S06)', () => {
  it('QACT-S06 AC-1 enqueues ResolveRoomWorker, with the closing message if provided', async () => {
    const { o, roomId, ctx } = await roomFor('s06ac1');
    expect(await h.executor.execute('qontak_chat_room_resolve', { closing_message: 'Thanks, {{customer_name}}!' }, ctx)).toMatchObject({ ok: true });
    expect(await h.executor.execute('qontak_chat_room_resolve', {}, context(o, undefined, { channel_room_id: ctx.channel_room_id }))).toMatchObject({ ok: true });
    const jobs = await jobsFor(roomId);
    expect(jobs).toMatchObject([
      { class: 'ResolveRoomWorker', args: [roomId, o, 'Thanks, Rina!'] },
      { class: 'ResolveRoomWorker', args: [roomId, o, null] },
    ]);
    expectSidekiqShape(jobs[0], h.executor.queue.options.queue);
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S06 ERR-1 room or channel integration not found: error returned, no worker enqueued', async () => {
    const o = org('s06err1');
    const before = (await h.jobs()).length;
    const ctx = context(o, undefined, { channel_room_id: 'wa-unknown' });
    expect(await h.executor.execute('qontak_chat_room_resolve', {}, ctx)).toMatchObject({ ok: false, reason: 'room_not_found' });
    // A room of another organization is not this organization's room.
    const other = await roomFor('s06err1-other');
    const ctx2 = context(o, undefined, { channel_room_id: other.ctx.channel_room_id });
    expect(await h.executor.execute('qontak_chat_room_resolve', {}, ctx2)).toMatchObject({ ok: false, reason: 'room_not_found' });
    await h.seedRoom(o, 'wa-noint', 'room-noint', { integration: false });
    const ctx3 = context(o, undefined, { channel_room_id: 'wa-noint' });
    expect(await h.executor.execute('qontak_chat_room_resolve', {}, ctx3)).toMatchObject({ ok: false, reason: 'channel_integration_not_found' });
    expect((await h.jobs()).length).toBe(before);
    for (const c of [ctx, ctx2, ctx3]) expectLifecycle(h.events(c.conversation_id), 'qontak_action_failed');
  });
});

describe('tag conversation (QACT-S07)', () => {
  it('QACT-S07 AC-1 tags as an array enqueue BulkTagsRoomWorker with normalised names', async () => {
    const { o, roomId, ctx } = await roomFor('s07ac1');
    expect(await h.executor.execute('qontak_chat_room_tag', { tags: [' VIP ', 'billing', 'vip', ''] }, ctx)).toMatchObject({ ok: true });
    const jobs = await jobsFor(roomId);
    expect(jobs).toMatchObject([{ class: 'BulkTagsRoomWorker', args: [roomId, o, ['VIP', 'billing']] }]);
    expectSidekiqShape(jobs[0], h.executor.queue.options.queue);
    expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_executed');
  });

  it('QACT-S07 AC-2 tags as objects, CSV or AI-resolved JSON are normalised to names before enqueue', async () => {
    const { o, roomId, ctx } = await roomFor('s07ac2');
    const shapes = [{ tags: [{ name: 'refund' }, { name: 'Urgent' }] }, { tags: 'refund, urgent ,  , new lead' }, { tags: '{{ai_tags}}' }];
    for (const params of shapes) {
      const c = context(o, undefined, { channel_room_id: ctx.channel_room_id, variables: { ai_tags: '["complaint", {"name":"Complaint"}, "shipping"]' } });
      expect(await h.executor.execute('qontak_chat_room_tag', params, c)).toMatchObject({ ok: true });
      expectLifecycle(h.events(c.conversation_id), 'qontak_action_executed');
    }
    expect((await jobsFor(roomId)).map((j) => (j.args as unknown[])[2])).toEqual([
      ['refund', 'Urgent'],
      ['refund', 'urgent', 'new lead'],
      ['complaint', 'shipping'],
    ]);
  });

  it('QACT-S07 ERR-1 empty tags: error returned, no worker enqueued', async () => {
    const { o, roomId } = await roomFor('s07err1');
    const channelRoomId = (await h.db.query<{ channel_room_id: string }>('SELECT channel_room_id FROM chat_rooms WHERE room_id = $1', [roomId]))[0].channel_room_id;
    for (const params of [{ tags: [] }, { tags: ' , ,' }, { tags: [{ name: ' ' }] }, {}, { tags: '{{missing_var}}' }]) {
      const ctx = context(o, undefined, { channel_room_id: channelRoomId });
      expect(await h.executor.execute('qontak_chat_room_tag', untyped(params), ctx)).toMatchObject({ ok: false, reason: 'empty_tags' });
      expectLifecycle(h.events(ctx.conversation_id), 'qontak_action_failed');
      expect(h.events(ctx.conversation_id)[1]).toMatchObject({ reason: 'empty_tags' });
    }
    expect(await jobsFor(roomId)).toEqual([]);
  });
});

describe('chat queue unavailable', () => {
  it('QACT-S06 ERR-1 Redis unreachable: queue_unavailable within the enqueue timeout, failure event emitted', async () => {
    const dead = await openHarness({ redisUrl: 'redis://127.0.0.1:1', enqueueTimeoutMs: 500 });
    try {
      const o = org('noredis');
      await dead.seedRoom(o, 'wa-1', 'room-1');
      const ctx = context(o, undefined, { channel_room_id: 'wa-1' });
      expect(await dead.executor.execute('qontak_chat_room_resolve', {}, ctx)).toMatchObject({ ok: false, reason: 'queue_unavailable' });
      expectLifecycle(dead.events(ctx.conversation_id), 'qontak_action_failed');
    } finally {
      await dead.close();
    }
  });
});
