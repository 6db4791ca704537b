import { buildEvent, type ActionEvent } from '../../src/events/index.ts';

/** The benchmarks' typical agent-runtime event: an executed CRM action, 500 organizations, 3,000 agents. */
export function sampleExecuted(i: number, withTrace = false): ActionEvent {
  return buildEvent({
    event: 'qontak_action_executed',
    source: 'agent-runtime',
    organization_id: `org-${i % 500}`,
    node_type: 'qontak_crm_deal_create',
    agent_id: `agent-${i % 3000}`,
    conversation_id: `conv-${i}`,
    duration_ms: 100 + (i % 900),
    ...(withTrace ? { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' } : {}),
  });
}
