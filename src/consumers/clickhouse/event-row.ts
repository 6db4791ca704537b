import type { ActionEvent } from '../../events/index.ts';

/** One `action_events` row, JSONEachRow-ready. Absent optional fields become '' / 0 (see migrations). */
export interface EventRow {
  event_id: string;
  event: string;
  timestamp: number;
  organization_id: string;
  node_type: string;
  agent_id: string;
  conversation_id: string;
  reason: string;
  outcome: string;
  change: string;
  duration_ms: number | null;
  attempt: number;
  upstream_status: number;
  registry_scope: string;
  probe: boolean;
  source: string;
  trace_id: string;
  span_id: string;
  schema_version: number;
}

export function toEventRow(e: ActionEvent): EventRow {
  // One flat view over the union: each kind has a subset of these fields.
  const f = e as Partial<Record<string, unknown>> & ActionEvent;
  return {
    event_id: e.event_id,
    event: e.event,
    // DateTime64(3) accepts an integer of milliseconds in JSONEachRow: no string formatting per row.
    timestamp: e.timestamp,
    organization_id: e.organization_id,
    node_type: (f.node_type as string | undefined) ?? '',
    agent_id: (f.agent_id as string | undefined) ?? '',
    conversation_id: (f.conversation_id as string | undefined) ?? '',
    reason: (f.reason as string | undefined) ?? '',
    outcome: (f.outcome as string | undefined) ?? '',
    change: (f.change as string | undefined) ?? '',
    duration_ms: (f.duration_ms as number | undefined) ?? null,
    attempt: (f.attempt as number | undefined) ?? 0,
    upstream_status: (f.upstream_status as number | undefined) ?? 0,
    registry_scope: (f.registry_scope as string | undefined) ?? '',
    probe: f.probe === true,
    source: e.source,
    trace_id: e.trace_id ?? '',
    span_id: e.span_id ?? '',
    schema_version: e.schema_version,
  };
}
