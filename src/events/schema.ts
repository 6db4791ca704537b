import { z } from 'zod';
import { NODE_TYPE_NAMES } from './node-types.ts';
import { FAILURE_REASON_CODES, TOKEN_REFRESH_OUTCOMES } from './failure-reasons.ts';
import { EVENT_ID_PATTERN } from './event-id.ts';
import { futureTimestampMessage, withinFutureAllowance } from './future-allowance.ts';

/** Which registry switch refused a call (`registry_scope` on a blocked `qontak_action_failed`). */
export const REGISTRY_SCOPE_VALUES = ['global', 'organization'] as const;

/** How a configuration ended, on `qontak_action_unconfigured`. */
export const CONFIGURATION_CHANGES = ['removed', 'replaced'] as const;
export type ConfigurationChange = (typeof CONFIGURATION_CHANGES)[number];

export const SCHEMA_VERSION = 1 as const;

/** Event time bounds: before 2020, or further ahead than the future allowance (future-allowance.ts), is a clock bug. */
export const MIN_TIMESTAMP_MS = Date.UTC(2020, 0, 1);
/** The `params.reason` of the timestamp's future check, so validation can name that refusal on its own. */
export const TIMESTAMP_IN_FUTURE = 'timestamp_in_future';

const identifier = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/, 'letters, digits and _ . : @ - only');

const common = {
  event_id: z.string().regex(EVENT_ID_PATTERN, 'a lowercase UUIDv7'),
  schema_version: z.literal(SCHEMA_VERSION),
  /** Event time, milliseconds since the Unix epoch (UTC). */
  timestamp: z
    .number()
    .int()
    .min(MIN_TIMESTAMP_MS, 'milliseconds since epoch, not before 2020-01-01')
    .refine((t) => withinFutureAllowance(t), { error: (issue) => futureTimestampMessage(issue.input), params: { reason: TIMESTAMP_IN_FUTURE } }),
  /** The producing service, e.g. `agent-runtime`, `builder-api`. */
  source: z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,63}$/, 'lowercase service name, max 64 chars'),
  organization_id: identifier,
  trace_id: z.string().regex(/^[0-9a-f]{32}$/, '32 lowercase hex chars (W3C trace-id)').optional(),
  span_id: z.string().regex(/^[0-9a-f]{16}$/, '16 lowercase hex chars (W3C span-id)').optional(),
};

const nodeType = z.enum(NODE_TYPE_NAMES);
const durationMs = z.number().int().min(0).max(3_600_000);
const attempt = z.number().int().min(1).max(100);

export const configuredSchema = z.strictObject({
  event: z.literal('qontak_action_configured'),
  ...common,
  node_type: nodeType,
  agent_id: identifier,
});

export const invokedSchema = z.strictObject({
  event: z.literal('qontak_action_invoked'),
  ...common,
  node_type: nodeType,
  agent_id: identifier,
  conversation_id: identifier,
  attempt: attempt.optional(),
});

export const executedSchema = z.strictObject({
  event: z.literal('qontak_action_executed'),
  ...common,
  node_type: nodeType,
  agent_id: identifier,
  conversation_id: identifier,
  duration_ms: durationMs,
  attempt: attempt.optional(),
  /** A half-open recovery probe: a real call the registry let through while the action is disabled for its scope. */
  probe: z.literal(true).optional(),
});

export const failedSchema = z.strictObject({
  event: z.literal('qontak_action_failed'),
  ...common,
  node_type: nodeType,
  agent_id: identifier,
  conversation_id: identifier,
  reason: z.enum(FAILURE_REASON_CODES),
  duration_ms: durationMs,
  attempt: attempt.optional(),
  /** Upstream HTTP status when the failure came from the CRM. */
  upstream_status: z.number().int().min(100).max(599).optional(),
  /**
   * `registry_disabled` only: which switch refused the call, the action's for everyone (`global`) or the action's
   * for this organization (`organization`). Absent on events from producers before it existed: read as `global`.
   */
  registry_scope: z.enum(REGISTRY_SCOPE_VALUES).optional(),
  /** A half-open recovery probe: a real call the registry let through while the action is disabled for its scope. */
  probe: z.literal(true).optional(),
});

export const tokenRefreshedSchema = z.strictObject({
  event: z.literal('qontak_action_token_refreshed'),
  ...common,
  outcome: z.enum(TOKEN_REFRESH_OUTCOMES),
  node_type: nodeType.optional(),
  agent_id: identifier.optional(),
  conversation_id: identifier.optional(),
  duration_ms: durationMs.optional(),
  attempt: attempt.optional(),
});

/**
 * A configuration ended (spec §12 adoption counts only configurations still in place). `change` says how:
 * `removed` (the builder deleted the action from the agent) or `replaced` (superseded; the new configuration
 * sends its own `qontak_action_configured`). Added under schema_version 1: a new event name is an additive
 * change, consumers that do not know it skip or store it (see schemas/README.md, "Compatibility").
 */
export const unconfiguredSchema = z.strictObject({
  event: z.literal('qontak_action_unconfigured'),
  ...common,
  node_type: nodeType,
  agent_id: identifier,
  change: z.enum(CONFIGURATION_CHANGES).optional(),
});

/**
 * Adoption denominator (spec §12): an agent that configured no action never emits an action event,
 * so the runtime reports each active agent at least once per day with this heartbeat.
 */
export const agentActiveSchema = z.strictObject({
  event: z.literal('qontak_agent_active'),
  ...common,
  agent_id: identifier,
});

export const actionEventSchema = z.discriminatedUnion('event', [
  configuredSchema,
  invokedSchema,
  executedSchema,
  failedSchema,
  tokenRefreshedSchema,
  unconfiguredSchema,
  agentActiveSchema,
]);

export type ConfiguredEvent = z.infer<typeof configuredSchema>;
export type InvokedEvent = z.infer<typeof invokedSchema>;
export type ExecutedEvent = z.infer<typeof executedSchema>;
export type FailedEvent = z.infer<typeof failedSchema>;
export type TokenRefreshedEvent = z.infer<typeof tokenRefreshedSchema>;
export type AgentActiveEvent = z.infer<typeof agentActiveSchema>;
export type UnconfiguredEvent = z.infer<typeof unconfiguredSchema>;
export type ActionEvent = z.infer<typeof actionEventSchema>;
export type EventName = ActionEvent['event'];

export const EVENT_SCHEMAS = {
  qontak_action_configured: configuredSchema,
  qontak_action_invoked: invokedSchema,
  qontak_action_executed: executedSchema,
  qontak_action_failed: failedSchema,
  qontak_action_token_refreshed: tokenRefreshedSchema,
  qontak_action_unconfigured: unconfiguredSchema,
  qontak_agent_active: agentActiveSchema,
} as const;

export const EVENT_NAMES = Object.keys(EVENT_SCHEMAS) as EventName[];
/** The action events: the five of spec §11 and the end of a configuration (the heartbeat is pipeline plumbing). */
export const ACTION_EVENT_NAMES = EVENT_NAMES.filter((n) => n !== 'qontak_agent_active');
