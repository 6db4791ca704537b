/**
 * An agent runtime embedding Actionpulse through the package's public entry point: it provisions one
 * organization, records the builder's configuration and the agent's activity, runs each of the seven
 * actions once, prints what happened as one JSON line and shuts down, flushing its events to Kafka.
 *
 * Settings come from the environment (see the README's embedding section): KAFKA_BROKERS, DATABASE_URL,
 * QONTAK_CRM_BASE_URL, CRM_TOKEN_ENCRYPTION_KEY, and REDIS_URL in production.
 * EXAMPLE_CRM_COMPANY_TOKEN / EXAMPLE_CRM_REFRESH_TOKEN are the organization's CRM credentials.
 */
import { createRuntime, isNodeType, type ExecutionContext, type NodeType, type ParamsOf } from 'actionpulse';

const runtime = await createRuntime({ source: 'example-runtime' });
process.once('SIGTERM', () => void runtime.close().finally(() => process.exit(0)));

const organization = process.env.EXAMPLE_ORGANIZATION_ID ?? 'org-example';
const agent = 'agent-1';
const companyToken = process.env.EXAMPLE_CRM_COMPANY_TOKEN;
if (!companyToken) throw new Error('set EXAMPLE_CRM_COMPANY_TOKEN (the organization CRM company token)');

// Once per organization: its CRM credentials (stored encrypted) and the chat room the conversation is in.
await runtime.provisioning.putCrmToken(organization, { companyToken, refreshToken: process.env.EXAMPLE_CRM_REFRESH_TOKEN });
await runtime.provisioning.upsertChannelIntegration({ id: `${organization}-wa`, organizationId: organization, channel: 'whatsapp' });
await runtime.provisioning.upsertRoom({ organizationId: organization, channelRoomId: 'wa-room-1', roomId: 'room-1', channelIntegrationId: `${organization}-wa` });

// One call of each action, its parameters typed per action (a misspelt action or field does not compile).
const calls: { [A in NodeType]: ParamsOf<A> } = {
  qontak_crm_deal_create: { crm_pipeline_id: 1, crm_stage_id: 2, name: 'Deal for {{customer_name}}' },
  qontak_crm_deal_update: { id: '1', stage_id: '3', amount: 250_000 },
  qontak_crm_ticket_create: { crm_pipeline_id: 1, crm_stage_id: 1, name: 'Support: {{customer_name}}' },
  qontak_crm_ticket_update: { id: '1', crm_stage_id: 2 },
  qontak_chat_room_tag: { tags: ['vip', 'lead'] },
  qontak_chat_room_assign: { assign_type: 'division', division_id: '7' },
  qontak_chat_room_resolve: { closing_message: 'Thanks for chatting with us!' },
};
const actions = Object.keys(calls).filter(isNodeType);

// The builder saved these actions on the agent. The first record of the day also reports the agent active
// (one qontak_agent_active per agent per UTC day); recordAgentActive() is for agents that call nothing.
for (const action of actions) runtime.recordConfigured({ node_type: action, agent_id: agent, organization_id: organization });

const context: ExecutionContext = {
  organization_id: organization,
  agent_id: agent,
  conversation_id: `conv-${Date.now()}`,
  channel_room_id: 'wa-room-1',
  contact: { name: 'Budi', phone: '+6281200000001' },
};
const results: Record<string, string> = {};
for (const action of actions) {
  const result = await runtime.execute(action, calls[action], context);
  results[action] = result.ok ? 'executed' : `failed: ${result.reason} (${result.message})`;
}

const health = await runtime.health();
await runtime.close();
console.log(JSON.stringify({ results, ready: health.ready, disabledActions: health.disabledActions, accepted: health.emitter.accepted }));
