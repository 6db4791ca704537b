import { context as otelContext, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { buildEvent, CONFIGURATION_CHANGES, isNodeType, newEventId, NODE_TYPES, type ConfigurationChange, type EventInput, type NodeType } from '../events/index.ts';
import { ConfigError, type Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { SqlDb } from '../platform/registry-db.ts';
import type { EventEmitterPort } from '../producers/emitter-port.ts';
import type { ParamsOf } from './action-params.ts';
import { fail, type ExecuteResult, type ExecutionContext } from './action-types.ts';
import { ChatActions } from './chat-actions.ts';
import { CrmActions } from './crm-actions.ts';
import { CrmClient } from './crm-client.ts';
import { CrmHttp } from './crm-http.ts';
import { RegistryGate, type GateVerdict } from './registry-gate.ts';
import { migrateRegistry } from './registry-schema.ts';
import { RoomDirectory } from './room-directory.ts';
import { redisBackend, SidekiqQueue, type SidekiqBackend } from './sidekiq-queue.ts';
import { TokenCipher } from './token-crypto.ts';
import { TokenRefresher, type RefreshReport } from './token-refresh.ts';
import { TokenStore } from './token-store.ts';
import { traceIdsOf, type TraceIds } from './trace-ids.ts';

export const TRACER_NAME = 'actionpulse-executors';

/**
 * `gen_ai.tool.type` of every action. The conventions' `extension` is a tool run on the agent side that calls an
 * external API; an action runs inside the agent runtime and calls the Qontak CRM or enqueues a chat job. Not
 * `function` (run by the client, on the user's side) nor `datastore` (retrieval for the model).
 */
export const GEN_AI_TOOL_TYPE = 'extension';

export interface ExecutorDeps {
  db: SqlDb;
  /** Real Sidekiq queues; or `jobBackend` (e.g. the file fallback) when there is no Redis. */
  redis?: Redis;
  jobBackend?: SidekiqBackend;
  emitter: EventEmitterPort;
  crm: Omit<Config['crm'], 'retryBaseDelayMs' | 'retryMaxDelayMs'> & Partial<Pick<Config['crm'], 'retryBaseDelayMs' | 'retryMaxDelayMs'>>;
  chat?: { queue?: string; keyPrefix?: string; enqueueTimeoutMs?: number };
  logger: Logger;
  /** The `source` field of every event, e.g. `agent-runtime`. */
  source: string;
  /** Epoch milliseconds; event timestamps and durations. */
  clock?: () => number;
  /** Run migrateRegistry first (default true; idempotent). */
  migrate?: boolean;
  registryResyncIntervalMs?: number;
  /** `telemetry.executorSpanNames`: `execute_tool {node_type}` (default) or the older `qontak_action {node_type}`. */
  spanNames?: Config['telemetry']['executorSpanNames'];
}

export interface ConfiguredInput {
  node_type: NodeType;
  agent_id: string;
  organization_id: string;
}

export interface UnconfiguredInput extends ConfiguredInput {
  /** How the configuration ended: `removed` (default meaning when absent) or `replaced`. */
  change?: ConfigurationChange;
}

export interface AgentInput {
  organization_id: string;
  agent_id: string;
}

/** What the record* calls answer: an invalid input is a value, never an exception. */
export type RecordResult = { ok: true } | { ok: false; reason: 'invalid_params'; message: string };

export interface Executor {
  /**
   * Typed per action for TypeScript callers; the action, its parameters and the context are still validated at
   * run time (plain JavaScript callers, parameters from a model's tool call): a bad one is a failed call, never an exception.
   */
  execute<A extends NodeType>(nodeType: A, params: NoInfer<ParamsOf<A>>, context: ExecutionContext): Promise<ExecuteResult>;
  /** The builder saved the action on the agent: `qontak_action_configured`. */
  recordConfigured(input: ConfiguredInput): RecordResult;
  /** The configuration ended (removed, or replaced by a new one): `qontak_action_unconfigured`. */
  recordUnconfigured(input: UnconfiguredInput): RecordResult;
  /**
   * The agent is active: `qontak_agent_active`, the adoption denominator. execute() and recordConfigured() already
   * send it once per agent per UTC day; call this for an agent that is active without calling an action.
   */
  recordAgentActive(input: AgentInput): RecordResult;
  /** Stores an organization's CRM credentials (encrypted): for provisioning and tests. */
  readonly tokens: TokenStore;
  readonly rooms: RoomDirectory;
  readonly registry: RegistryGate;
  readonly queue: SidekiqQueue;
  close(): Promise<void>;
}

const identifier = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/);
const contextSchema = z.object({
  organization_id: identifier,
  agent_id: identifier,
  conversation_id: identifier,
  channel_room_id: z.string().min(1).max(256).optional(),
  tool_call_id: z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
});
const configuredSchema = z.object({ node_type: z.string(), agent_id: identifier, organization_id: identifier });
const unconfiguredSchema = configuredSchema.extend({ change: z.enum(CONFIGURATION_CHANGES).optional() });
const agentSchema = z.object({ agent_id: identifier, organization_id: identifier });
const DAY_MS = 86_400_000;

/**
 * Runs the seven Qontak actions. Order per call: context check → `invoked` → registry gate → parameters →
 * the action → exactly one of `executed`/`failed`. Expected failures are values; emission goes through the
 * emitter port (which never awaits Kafka), and a span wraps the whole call.
 */
export async function createExecutor(deps: ExecutorDeps): Promise<Executor> {
  if (!deps.crm.tokenEncryptionKey) {
    throw new ConfigError([
      { setting: 'CRM_TOKEN_ENCRYPTION_KEY (crm.tokenEncryptionKey)', message: 'required to run the executors (CRM tokens are stored encrypted)', example: 'CRM_TOKEN_ENCRYPTION_KEY=<64 hex characters>' },
    ]);
  }
  const now = deps.clock ?? Date.now;
  const logger = deps.logger.child({ component: 'executors' });
  if (deps.migrate !== false) await migrateRegistry(deps.db);
  const registry = await RegistryGate.open(deps.db, { logger, resyncIntervalMs: deps.registryResyncIntervalMs });

  const http = new CrmHttp({
    baseUrl: deps.crm.baseUrl,
    requestTimeoutMs: deps.crm.requestTimeoutMs,
    maxRetries: deps.crm.maxRetries,
    retryBaseDelayMs: deps.crm.retryBaseDelayMs ?? 200,
    retryMaxDelayMs: deps.crm.retryMaxDelayMs ?? 5_000,
  });
  const tokens = new TokenStore(deps.db, new TokenCipher(deps.crm.tokenEncryptionKey), logger);
  const refresher = new TokenRefresher(http, tokens, logger, now);
  const crm = new CrmActions(new CrmClient(http, tokens, refresher, deps.crm.apiKey || undefined));
  const rooms = new RoomDirectory(deps.db);
  const backend = deps.jobBackend ?? (deps.redis ? redisBackend(deps.redis) : undefined);
  if (!backend) throw new Error('createExecutor needs `redis` or `jobBackend` for chat jobs');
  const queue = new SidekiqQueue(
    backend,
    { queue: deps.chat?.queue ?? 'default', keyPrefix: deps.chat?.keyPrefix ?? '', timeoutMs: deps.chat?.enqueueTimeoutMs ?? 2_000 },
    now,
  );
  const chat = new ChatActions(rooms, queue);
  const tracer = trace.getTracer(TRACER_NAME);
  const spanName = deps.spanNames === 'legacy' ? (nodeType: NodeType) => `qontak_action ${nodeType}` : (nodeType: NodeType) => `execute_tool ${nodeType}`;

  // Events are emitted inside the call's span, so the emitter's message span is its child and shares its
  // sampling decision (the event itself only carries the ids). The agent heartbeat belongs to no call: no span.
  const emit = (input: EventInput, span?: Span): void => {
    try {
      const send = (): void => deps.emitter.emit(buildEvent({ ...input, timestamp: input.timestamp ?? now() } as EventInput));
      if (span) otelContext.with(trace.setSpan(otelContext.active(), span), send);
      else send();
    } catch (err) {
      // The port promises not to throw; if one does anyway, the action's result still stands.
      logger.error({ err: (err as Error).message, event: input.event }, 'event emitter threw');
    }
  };

  // UTC day number → agents already reported active that day. Only today's set is kept: memory stays one entry
  // per agent active today.
  let activeDay = -1;
  const activeToday = new Set<string>();
  const reportActive = (organization_id: string, agent_id: string, force: boolean): void => {
    const day = Math.floor(now() / DAY_MS);
    if (day !== activeDay) {
      activeDay = day;
      activeToday.clear();
    }
    const key = `${organization_id}\u0000${agent_id}`;
    if (!force && activeToday.has(key)) return;
    activeToday.add(key);
    emit({ event: 'qontak_agent_active', source: deps.source, organization_id, agent_id });
  };

  async function runAction(nodeType: NodeType, params: unknown, ctx: ExecutionContext, ids: TraceIds, span: Span, verdict: GateVerdict): Promise<ExecuteResult> {
    if (!verdict.allowed) {
      const where = verdict.scope === 'global' ? 'node_registries' : `node_registry_organizations for ${ctx.organization_id}`;
      return { ...fail('registry_disabled', `${nodeType} is disabled in ${where}`), scope: verdict.scope } as ExecuteResult;
    }
    if (NODE_TYPES[nodeType].group === 'mekari_qontak_chat') {
      return chat.run({ nodeType: nodeType as 'qontak_chat_room_tag', rawParams: params, context: ctx });
    }
    const onRefresh = (r: RefreshReport): void =>
      emit({
        event: 'qontak_action_token_refreshed',
        source: deps.source,
        organization_id: r.organizationId,
        outcome: r.outcome,
        node_type: nodeType,
        agent_id: ctx.agent_id,
        conversation_id: ctx.conversation_id,
        duration_ms: Math.min(r.durationMs, 3_600_000),
        ...ids,
      }, span);
    return crm.run({ nodeType: nodeType as 'qontak_crm_deal_create', rawParams: params, context: ctx }, onRefresh);
  }

  async function execute(nodeType: string, params: unknown, ctx: ExecutionContext): Promise<ExecuteResult> {
    if (!isNodeType(nodeType)) return fail('invalid_params', `unknown node type ${JSON.stringify(String(nodeType)).slice(0, 80)}`);
    const checked = contextSchema.safeParse(ctx);
    if (!checked.success) {
      // Without valid ids no event could pass the contract; the runtime gets the error instead.
      return fail('invalid_params', `invalid context: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    reportActive(ctx.organization_id, ctx.agent_id, false);
    const base = { source: deps.source, organization_id: ctx.organization_id, node_type: nodeType, agent_id: ctx.agent_id, conversation_id: ctx.conversation_id };
    // The invoked event's id is made here so that a call without a tool-call id from the runtime still has one
    // that leads from its span to its events.
    const invokedAt = now();
    const invokedId = newEventId(invokedAt);
    // All at creation: the conventions mark gen_ai.operation.name sampling-relevant, and samplers here read
    // organization_id.
    const span = tracer.startSpan(spanName(nodeType), {
      kind: SpanKind.INTERNAL,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': nodeType,
        'gen_ai.tool.type': GEN_AI_TOOL_TYPE,
        'gen_ai.tool.call.id': ctx.tool_call_id ?? invokedId,
        'gen_ai.conversation.id': ctx.conversation_id,
        node_type: nodeType,
        organization_id: ctx.organization_id,
        agent_id: ctx.agent_id,
        conversation_id: ctx.conversation_id,
      },
    });
    const ids = traceIdsOf(span);
    emit({ event: 'qontak_action_invoked', ...base, ...ids, event_id: invokedId, timestamp: invokedAt }, span);
    const started = now();
    let result: ExecuteResult;
    const verdict = registry.verdict(nodeType, ctx.organization_id);
    // A call a disabled switch lets through to test whether the action works again: its outcome says so on the wire.
    const probe = verdict.allowed && verdict.probe !== undefined ? ({ probe: true } as const) : {};
    if (verdict.allowed && verdict.probe !== undefined) span.setAttribute('probe', true);
    try {
      result = await otelContext.with(trace.setSpan(otelContext.active(), span), () => runAction(nodeType, params, ctx, ids, span, verdict));
    } catch (err) {
      logger.error({ err, node_type: nodeType, organization_id: ctx.organization_id }, 'executor bug');
      // Recording Errors advises against exception events; this path is a bug in our code, where the stack is
      // what finds it.
      span.recordException(err as Error);
      result = fail('internal_error', 'internal error in the executor');
    }
    const duration_ms = Math.min(3_600_000, Math.max(0, Math.round(now() - started)));
    if (result.ok) {
      emit({ event: 'qontak_action_executed', ...base, duration_ms, ...probe, ...ids }, span);
      span.setAttribute('outcome', 'executed');
    } else {
      emit({
        event: 'qontak_action_failed',
        ...base,
        reason: result.reason,
        duration_ms,
        ...(result.upstreamStatus !== undefined ? { upstream_status: result.upstreamStatus } : {}),
        ...(result.scope !== undefined ? { registry_scope: result.scope } : {}),
        ...probe,
        ...ids,
      }, span);
      span.setAttributes({ outcome: 'failed', reason: result.reason, 'error.type': result.reason });
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.reason });
      logger.info({ node_type: nodeType, organization_id: ctx.organization_id, reason: result.reason, msg_detail: result.message }, 'action failed');
    }
    span.end();
    return result;
  }

  const invalid = (message: string): RecordResult => ({ ok: false, reason: 'invalid_params', message });

  function recordChange(event: 'qontak_action_configured' | 'qontak_action_unconfigured', input: UnconfiguredInput): RecordResult {
    const checked = (event === 'qontak_action_configured' ? configuredSchema : unconfiguredSchema).safeParse(input);
    if (!checked.success) return invalid(checked.error.message);
    if (!isNodeType(input.node_type)) return invalid(`unknown node type ${JSON.stringify(String(input.node_type)).slice(0, 80)}`);
    if (event === 'qontak_action_configured') reportActive(input.organization_id, input.agent_id, false);
    // Not an execute_tool span: a builder saving or removing an action runs no tool, and no model asked for it.
    const span = tracer.startSpan(`${event} ${input.node_type}`, {
      attributes: { node_type: input.node_type, organization_id: input.organization_id },
    });
    const fields = { source: deps.source, organization_id: input.organization_id, node_type: input.node_type, agent_id: input.agent_id, ...traceIdsOf(span) };
    if (event === 'qontak_action_configured') emit({ event, ...fields }, span);
    else emit({ event, ...fields, ...(input.change ? { change: input.change } : {}) }, span);
    span.end();
    return { ok: true };
  }

  function recordAgentActive(input: AgentInput): RecordResult {
    const checked = agentSchema.safeParse(input);
    if (!checked.success) return invalid(checked.error.message);
    reportActive(input.organization_id, input.agent_id, true);
    return { ok: true };
  }

  return {
    execute,
    recordConfigured: (input) => recordChange('qontak_action_configured', input),
    recordUnconfigured: (input) => recordChange('qontak_action_unconfigured', input),
    recordAgentActive,
    tokens,
    rooms,
    registry,
    queue,
    async close() {
      await registry.close();
    },
  };
}
