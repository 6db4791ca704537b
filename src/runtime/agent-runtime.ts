import { isNodeType, type NodeType } from '../events/index.ts';
import type { ParamsOf } from '../executors/action-params.ts';
import type { AgentInput, ConfiguredInput, ExecuteResult, ExecutionContext, Executor, RecordResult, UnconfiguredInput } from '../executors/index.ts';
import type { Logger } from '../platform/logger.ts';
import type { EmitterStats } from '../producers/emitter-metrics.ts';
import type { Emitter } from '../producers/emitter.ts';

export interface RuntimeHealth {
  /** Calls run and their events are kept: Kafka is reachable, or the spool folder is writable. */
  ready: boolean;
  /** The emitter holds a live Kafka connection (false while it spools during an outage). */
  kafkaConnected: boolean;
  /** Events accepted, sent, spooled, dropped; what waits in memory and in the spool. */
  emitter: EmitterStats;
  /** Actions the registry (the kill switch) currently stops; their calls fail with `registry_disabled`. */
  disabledActions: NodeType[];
}

export interface CrmCredentials {
  companyToken: string;
  refreshToken?: string;
}

/** The records the actions read: CRM credentials per organization, the chat room directory. */
export interface Provisioning {
  /** Stores an organization's Qontak CRM company token (encrypted with CRM_TOKEN_ENCRYPTION_KEY). */
  putCrmToken(organizationId: string, credentials: CrmCredentials): Promise<void>;
  upsertChannelIntegration(integration: { id: string; organizationId: string; channel: string; active?: boolean }): Promise<void>;
  upsertRoom(room: { organizationId: string; channelRoomId: string; roomId: string; channelIntegrationId: string | null }): Promise<void>;
}

/** What an agent runtime embeds: instrumented actions, the adoption events, health and shutdown. */
export interface Runtime {
  /**
   * Runs one of the seven actions. Emits `qontak_action_invoked`, then exactly one of `_executed` / `_failed`.
   * Expected failures (bad parameters, CRM errors, a disabled action) are values, never exceptions. The action and
   * its parameters are typed per action (`ParamsOf<A>`) and still validated at run time, for callers in plain
   * JavaScript and parameters that come from a model's tool call (narrow the name with `isNodeType` first).
   */
  execute<A extends NodeType>(action: A, params: NoInfer<ParamsOf<A>>, context: ExecutionContext): Promise<ExecuteResult>;
  /** A builder saved an action on an agent: `qontak_action_configured` (the adoption numerator). */
  recordConfigured(input: ConfiguredInput): RecordResult;
  /** A builder took an action off an agent (`change: 'removed'`) or replaced it: `qontak_action_unconfigured`. */
  recordUnconfigured(input: UnconfiguredInput): RecordResult;
  /**
   * The agent is in use: `qontak_agent_active` (the adoption denominator). execute() and recordConfigured() send it
   * once per agent per UTC day by themselves; call this for an agent that is active without calling an action.
   */
  recordAgentActive(input: AgentInput): RecordResult;
  readonly provisioning: Provisioning;
  health(): Promise<RuntimeHealth>;
  /**
   * Waits for calls in flight, then flushes events to Kafka until `deadlineMs` (default PRODUCER_SHUTDOWN_DEADLINE_MS),
   * spools what is left (sent on the next start) and releases every connection. Safe to call twice.
   */
  close(deadlineMs?: number): Promise<void>;
}

export interface RuntimeParts {
  executor: Executor;
  emitter: Emitter;
  logger: Logger;
  /** Whether close() flushes and closes the emitter (false when the emitter is shared, as in the demo). */
  closeEmitter: boolean;
  /** Released after the executor and the emitter closed (registry database, Redis), in order. */
  release?: (() => Promise<void>)[];
}

/** What an agent calls on its runtime, without the runtime's own lifecycle (health, close). */
export type RuntimeCalls = Pick<Runtime, 'execute' | 'recordConfigured' | 'recordUnconfigured' | 'recordAgentActive' | 'provisioning'>;

/** The calls straight onto an executor; assembleRuntime adds the in-flight tracking close() waits for. */
export function executorCalls(executor: Executor): RuntimeCalls {
  return {
    execute: (action, params, context) => executor.execute(action, params, context),
    recordConfigured: (input) => executor.recordConfigured(input),
    recordUnconfigured: (input) => executor.recordUnconfigured(input),
    recordAgentActive: (input) => executor.recordAgentActive(input),
    provisioning: {
      putCrmToken: (organizationId, credentials) => executor.tokens.put(organizationId, credentials),
      upsertChannelIntegration: (integration) => executor.rooms.upsertIntegration(integration),
      upsertRoom: (room) => executor.rooms.upsertRoom(room),
    },
  };
}

/** Assembles a Runtime from running parts; `createRuntime` builds them from configuration. */
export function assembleRuntime(parts: RuntimeParts): Runtime {
  const { executor, emitter, logger } = parts;
  const inFlight = new Set<Promise<ExecuteResult>>();
  let closing: Promise<void> | undefined;

  return {
    ...executorCalls(executor),
    execute(action, params, context) {
      if (closing) throw new Error('Runtime.execute called after close()');
      const call = executor.execute(action, params, context).finally(() => inFlight.delete(call));
      inFlight.add(call);
      return call;
    },
    async health() {
      const stats = emitter.stats();
      const flags = executor.registry.snapshot();
      return {
        ready: await emitter.ready(),
        kafkaConnected: stats.connected,
        emitter: stats,
        disabledActions: Object.keys(flags).filter((nodeType): nodeType is NodeType => isNodeType(nodeType) && !flags[nodeType]),
      };
    },
    close(deadlineMs) {
      closing ??= (async () => {
        await Promise.allSettled([...inFlight]);
        await executor.close();
        if (parts.closeEmitter) await emitter.close(deadlineMs);
        for (const release of parts.release ?? []) {
          await release().catch((err: Error) => logger.warn({ err: err.message }, 'runtime: release failed'));
        }
      })();
      return closing;
    },
  };
}
