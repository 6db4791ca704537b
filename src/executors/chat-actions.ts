import { parseParams } from './action-params.ts';
import { fail, type ActionRun, type ExecuteResult } from './action-types.ts';
import { interpolateDeep } from './interpolate.ts';
import type { RoomDirectory } from './room-directory.ts';
import type { SidekiqQueue } from './sidekiq-queue.ts';
import { normalizeTags } from './tag-normalize.ts';

type ChatNode = 'qontak_chat_room_assign' | 'qontak_chat_room_resolve' | 'qontak_chat_room_tag';

/** The Ruby worker classes the jobs name (spec §8 rows 5–7). */
export const WORKERS = {
  roundRobin: 'AssignAgentRoundRobinWorker',
  assignAgent: 'AssignAgentWorker',
  resolve: 'ResolveRoomWorker',
  bulkTags: 'BulkTagsRoomWorker',
} as const;

/**
 * The three chat actions: validate, resolve the room, enqueue one Sidekiq job. Every check that can fail
 * runs before the enqueue, so a failure never leaves a job behind.
 *
 * Job arguments (positional, as the workers' perform methods take them):
 *   AssignAgentRoundRobinWorker  [room_id, organization_id, division_id | null]
 *   AssignAgentWorker            [room_id, organization_id, agent_id, closing_message | null]
 *   ResolveRoomWorker            [room_id, organization_id, closing_message | null]
 *   BulkTagsRoomWorker           [room_id, organization_id, tag_names[]]
 */
export class ChatActions {
  constructor(
    private readonly rooms: RoomDirectory,
    private readonly queue: SidekiqQueue,
  ) {}

  async run(run: ActionRun & { nodeType: ChatNode }): Promise<ExecuteResult> {
    const { nodeType, context } = run;
    const raw = interpolateDeep(run.rawParams ?? {}, { contact: context.contact, variables: context.variables });
    const plan = this.plan(nodeType, raw);
    if (!plan.ok) return plan.failure;

    const lookup = await this.rooms.resolve(context.organization_id, context.channel_room_id ?? context.conversation_id);
    if (!lookup.ok) {
      const what = lookup.reason === 'room_not_found' ? 'room not found' : "the room's channel integration was not found";
      return fail(lookup.reason, `${what}; no job was enqueued`);
    }
    const args = [lookup.room.roomId, context.organization_id, ...plan.args];
    const pushed = await this.queue.enqueue(plan.worker, args);
    if (!pushed.ok) return fail('queue_unavailable', pushed.message);
    const { job } = pushed;
    return { ok: true, response: { jid: job.jid, queue: job.queue, class: job.class, room_id: lookup.room.roomId } };
  }

  private plan(nodeType: ChatNode, raw: unknown): { ok: true; worker: string; args: unknown[] } | { ok: false; failure: ExecuteResult } {
    if (nodeType === 'qontak_chat_room_assign') {
      const parsed = parseParams(nodeType, raw);
      if (!parsed.ok) return { ok: false, failure: fail('invalid_params', parsed.message) };
      const p = parsed.params;
      const closing = p.closing_message?.trim() || null;
      if (p.assign_type === 'auto') return { ok: true, worker: WORKERS.roundRobin, args: [null] };
      if (p.assign_type === 'division') {
        if (!p.division_id) return { ok: false, failure: fail('division_id_required', 'Division ID required') };
        return { ok: true, worker: WORKERS.roundRobin, args: [p.division_id] };
      }
      if (!p.agent_id) return { ok: false, failure: fail('agent_id_required', 'Agent ID required') };
      return { ok: true, worker: WORKERS.assignAgent, args: [p.agent_id, closing] };
    }
    if (nodeType === 'qontak_chat_room_resolve') {
      const parsed = parseParams(nodeType, raw);
      if (!parsed.ok) return { ok: false, failure: fail('invalid_params', parsed.message) };
      return { ok: true, worker: WORKERS.resolve, args: [parsed.params.closing_message?.trim() || null] };
    }
    // Empty tags are their own failure (spec S07 ERR-1), so check emptiness before the shape.
    const rawTags = (raw as { tags?: unknown } | null)?.tags;
    if (rawTags === undefined || rawTags === null || normalizeTags(rawTags).length === 0) {
      if (rawTags === undefined || rawTags === null || typeof rawTags === 'string' || Array.isArray(rawTags)) {
        return { ok: false, failure: fail('empty_tags', 'no tag names after normalisation; no job was enqueued') };
      }
    }
    const parsed = parseParams(nodeType, raw);
    if (!parsed.ok) return { ok: false, failure: fail('invalid_params', parsed.message) };
    const tags = normalizeTags(parsed.params.tags);
    if (tags.length === 0) return { ok: false, failure: fail('empty_tags', 'no tag names after normalisation; no job was enqueued') };
    return { ok: true, worker: WORKERS.bulkTags, args: [tags] };
  }
}
