/**
 * Type-level checks of the runtime's public API, compiled by `tsc --noEmit` (npm run typecheck) and by
 * typed-actions.test.ts, which also compiles it against loosened types to show each check can fail.
 * Every `@ts-expect-error` line must fail to compile; every other line must compile. One call per line.
 */
import { expectTypeOf } from 'vitest';
import { isNodeType, type ExecutionContext, type NodeType, type ParamsOf, type Runtime } from '../../../src/runtime/index.ts';

export async function typedActions(runtime: Runtime, context: ExecutionContext, fromModel: { name: string; args: unknown }): Promise<void> {
  // Correct calls compile: numeric ids as numbers or digit strings, defaults left out.
  await runtime.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: '2', name: 'Deal for {{customer_name}}' }, context);
  await runtime.execute('qontak_crm_deal_update', { id: '1', stage_id: '3', amount: 250_000 }, context);
  await runtime.execute('qontak_chat_room_tag', { tags: ['vip', { name: 'lead' }] }, context);
  await runtime.execute('qontak_chat_room_assign', { assign_type: 'division', division_id: '7' }, context);
  await runtime.execute('qontak_chat_room_resolve', {}, context);
  runtime.recordConfigured({ node_type: 'qontak_crm_deal_create', agent_id: 'agent-7', organization_id: 'org-42' });
  runtime.recordUnconfigured({ node_type: 'qontak_chat_room_tag', agent_id: 'agent-7', organization_id: 'org-42', change: 'replaced' });
  // A model's tool call: the name narrowed to an action, its arguments left to the run-time validation.
  if (isNodeType(fromModel.name)) await runtime.execute(fromModel.name, fromModel.args as ParamsOf<NodeType>, context);

  // @ts-expect-error a misspelt action
  await runtime.execute('qontak_crm_deal_creat', { crm_pipeline_id: 1, crm_stage_id: 2, name: 'Deal' }, context);
  // @ts-expect-error a field of another action (deal update's amount on deal create)
  await runtime.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, crm_stage_id: 2, name: 'Deal', amount: 5 }, context);
  // @ts-expect-error a required field missing (crm_stage_id)
  await runtime.execute('qontak_crm_deal_create', { crm_pipeline_id: 1, name: 'Deal' }, context);
  // @ts-expect-error a value outside the field's type
  await runtime.execute('qontak_chat_room_assign', { assign_type: 'robot' }, context);
  // @ts-expect-error the parameters of another action
  await runtime.execute('qontak_chat_room_tag', { closing_message: 'Thanks' }, context);
  // @ts-expect-error a misspelt action in recordConfigured
  runtime.recordConfigured({ node_type: 'qontak_crm_deal_creat', agent_id: 'agent-7', organization_id: 'org-42' });
  // @ts-expect-error a misspelt action in recordUnconfigured
  runtime.recordUnconfigured({ node_type: 'qontak_chat_room_tags', agent_id: 'agent-7', organization_id: 'org-42' });

  expectTypeOf<ParamsOf<'qontak_chat_room_assign'>['assign_type']>().toEqualTypeOf<'auto' | 'division' | 'agent'>();
  expectTypeOf<Awaited<ReturnType<Runtime['health']>>['disabledActions']>().toEqualTypeOf<NodeType[]>();
}

