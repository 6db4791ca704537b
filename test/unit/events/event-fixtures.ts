import { buildEvent, type ActionEvent, type EventInput, type EventName } from '../../../src/events/index.ts';

export const TRACE = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };

const base = { source: 'agent-runtime', organization_id: 'org-42' };
const action = { ...base, node_type: 'qontak_crm_deal_create', agent_id: 'agent-7' } as const;

/** One valid input per event, with every optional field filled, so each schema's whole shape is exercised. */
export const FULL_INPUTS: Record<EventName, EventInput> = {
  qontak_action_configured: { event: 'qontak_action_configured', ...action, ...TRACE },
  qontak_action_invoked: { event: 'qontak_action_invoked', ...action, conversation_id: 'conv-1', attempt: 1, ...TRACE },
  qontak_action_executed: {
    event: 'qontak_action_executed',
    ...action,
    conversation_id: 'conv-1',
    duration_ms: 412,
    attempt: 2,
    ...TRACE,
  },
  qontak_action_failed: {
    event: 'qontak_action_failed',
    ...action,
    conversation_id: 'conv-1',
    reason: 'crm_unauthorized',
    duration_ms: 95,
    attempt: 1,
    upstream_status: 401,
    ...TRACE,
  },
  qontak_action_token_refreshed: {
    event: 'qontak_action_token_refreshed',
    ...action,
    conversation_id: 'conv-1',
    outcome: 'failed',
    duration_ms: 30,
    attempt: 1,
    ...TRACE,
  },
  qontak_action_unconfigured: { event: 'qontak_action_unconfigured', ...action, change: 'removed', ...TRACE },
  qontak_agent_active: { event: 'qontak_agent_active', ...base, agent_id: 'agent-7', ...TRACE },
};

/** The same events with only the required fields. */
export const MINIMAL_INPUTS: Record<EventName, EventInput> = {
  qontak_action_configured: { event: 'qontak_action_configured', ...action },
  qontak_action_invoked: { event: 'qontak_action_invoked', ...action, conversation_id: 'conv-1' },
  qontak_action_executed: { event: 'qontak_action_executed', ...action, conversation_id: 'conv-1', duration_ms: 0 },
  qontak_action_failed: {
    event: 'qontak_action_failed',
    ...action,
    conversation_id: 'conv-1',
    reason: 'empty_tags',
    duration_ms: 3,
  },
  qontak_action_token_refreshed: { event: 'qontak_action_token_refreshed', ...base, outcome: 'success' },
  qontak_action_unconfigured: { event: 'qontak_action_unconfigured', ...action },
  qontak_agent_active: { event: 'qontak_agent_active', ...base, agent_id: 'agent-7' },
};

/** A valid failed event as a plain mutable record, for tests that break it field by field. */
export function failedRecord(): Record<string, unknown> {
  return { ...(buildEvent(FULL_INPUTS.qontak_action_failed) as ActionEvent) };
}
