import { buildEvent, type ActionEvent } from '../../src/events/index.ts';

/** One valid event of each kind, for round trips. */
export function oneOfEach(org = 'org-1'): ActionEvent[] {
  const base = { source: 'test-suite', organization_id: org };
  return [
    buildEvent({ ...base, event: 'qontak_action_configured', node_type: 'qontak_crm_deal_create', agent_id: 'agent-1' }),
    buildEvent({ ...base, event: 'qontak_action_invoked', node_type: 'qontak_crm_deal_create', agent_id: 'agent-1', conversation_id: 'conv-1' }),
    buildEvent({ ...base, event: 'qontak_action_executed', node_type: 'qontak_crm_deal_create', agent_id: 'agent-1', conversation_id: 'conv-1', duration_ms: 120 }),
    buildEvent({ ...base, event: 'qontak_action_failed', node_type: 'qontak_chat_room_tag', agent_id: 'agent-1', conversation_id: 'conv-2', reason: 'empty_tags', duration_ms: 3 }),
    buildEvent({ ...base, event: 'qontak_action_token_refreshed', outcome: 'success', trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) }),
  ];
}
