import type { FailureReason, NodeType } from '../events/index.ts';
import type { Contact } from './interpolate.ts';
import type { RegistryScope } from './registry-schema.ts';

/** What the agent runtime passes with each call. */
export interface ExecutionContext {
  organization_id: string;
  agent_id: string;
  conversation_id: string;
  /**
   * The agent runtime's id for this tool call (the model's tool-call id, e.g. `call_…`), for the span's
   * `gen_ai.tool.call.id`; without it the span carries the event_id of the call's `qontak_action_invoked`.
   */
  tool_call_id?: string;
  /** The conversation's room on its channel; chat actions resolve the room by it (default: conversation_id). */
  channel_room_id?: string;
  contact?: Contact;
  variables?: Record<string, string | number | boolean>;
}

export type ExecuteResult =
  | { ok: true; response: unknown }
  | {
      ok: false;
      reason: FailureReason;
      message: string;
      upstreamStatus?: number;
      /** `registry_disabled` only: the switch that refused the call, the action's (`global`) or the organization's. */
      scope?: RegistryScope;
    };

/** One action's work after gating and validation; the executor wraps it with events and a span. */
export interface ActionRun {
  nodeType: NodeType;
  rawParams: unknown;
  context: ExecutionContext;
}

export function fail(reason: FailureReason, message: string, upstreamStatus?: number): ExecuteResult {
  return upstreamStatus === undefined ? { ok: false, reason, message } : { ok: false, reason, message, upstreamStatus };
}
