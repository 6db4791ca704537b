import { buildEvent, type ActionEvent, type NodeType } from '../../../src/events/index.ts';
import type { AlertEngine, Transition } from '../../../src/consumers/alerts/alert-engine.ts';
import { isRecoveryStep } from '../../../src/consumers/alerts/recovery.ts';

/** Minute-aligned start of the synthetic timelines. */
export const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
export const MIN = 60_000;

let seq = 0;
/** A deterministic, valid UUIDv7-shaped id per call (the engine only needs uniqueness). */
function id(ts: number): string {
  seq++;
  const hex = ts.toString(16).padStart(12, '0');
  const rand = seq.toString(16).padStart(15, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-8${rand.slice(3, 6)}-${rand.slice(6, 15).padStart(12, '0')}`;
}

export function invoked(ts: number, nodeType: NodeType = 'qontak_crm_deal_create', org = 'org-1'): ActionEvent {
  return buildEvent({ event: 'qontak_action_invoked', event_id: id(ts), timestamp: ts, source: 'test', organization_id: org, node_type: nodeType, agent_id: 'a1', conversation_id: 'c1' });
}

export function failed(ts: number, nodeType: NodeType = 'qontak_crm_deal_create', org = 'org-1', reason: 'crm_server_error' | 'empty_tags' = 'crm_server_error'): ActionEvent {
  return buildEvent({
    event: 'qontak_action_failed',
    event_id: id(ts),
    timestamp: ts,
    source: 'test',
    organization_id: org,
    node_type: nodeType,
    agent_id: 'a1',
    conversation_id: 'c1',
    reason,
    duration_ms: 5,
    trace_id: 'f'.repeat(32),
  });
}

export function refreshFailed(ts: number, org: string): ActionEvent {
  return buildEvent({ event: 'qontak_action_token_refreshed', event_id: id(ts), timestamp: ts, source: 'test', organization_id: org, outcome: 'failed' });
}

/** `perMinute(minutes, fn)`: events for each minute of a timeline starting at `start`. */
export function perMinute(start: number, minutes: number, fn: (minuteStart: number, i: number) => ActionEvent[]): ActionEvent[] {
  const out: ActionEvent[] = [];
  for (let i = 0; i < minutes; i++) out.push(...fn(start + i * MIN, i));
  return out;
}

/**
 * `calls` calls at `ts`, the first `failedCount` of them failing: each an `invoked`, then its outcome (`failed` or
 * `executed`), so the failure rate of these calls is failedCount / calls.
 */
export function traffic(ts: number, calls: number, failedCount: number, nodeType: NodeType = 'qontak_crm_deal_create', org = 'org-1'): ActionEvent[] {
  const out: ActionEvent[] = [];
  for (let i = 0; i < calls; i++) out.push(invoked(ts + 100 + i, nodeType, org));
  for (let i = 0; i < calls; i++) out.push(i < failedCount ? failed(ts + 200 + i, nodeType, org) : executed(ts + 200 + i, nodeType, org));
  return out;
}

export function executed(ts: number, nodeType: NodeType = 'qontak_crm_deal_create', org = 'org-1'): ActionEvent {
  return buildEvent({ event: 'qontak_action_executed', event_id: id(ts), timestamp: ts, source: 'test', organization_id: org, node_type: nodeType, agent_id: 'a1', conversation_id: 'c1', duration_ms: 5 });
}

/**
 * Feeds events in order, firing count rules early and evaluating each minute the watermark closes, and accepts every transition the
 * way the store would (version + 1) — the persistence layer is covered by the integration tests.
 */
export function drive(engine: AlertEngine, events: readonly ActionEvent[], untilTs?: number): Transition[] {
  const out: Transition[] = [];
  const accept = (t: Transition) => {
    out.push(t);
    engine.commit({ ...t.next, version: t.prev.version + 1 });
  };
  const evaluate = () => {
    for (const t of engine.decide()) {
      if (isRecoveryStep(t)) engine.commitRecovery({ ...t.next, version: t.prev.version + 1 });
      else accept(t);
    }
  };
  for (const e of events) {
    engine.ingest(e, 0);
    evaluate();
  }
  if (untilTs !== undefined) {
    engine.watermark.setCaughtUp(0, true);
    engine.watermark.advanceTo(untilTs + engine.rules.evaluationDelayMinutes * engine.options.minuteMs);
    evaluate();
  }
  return out;
}

export function fired(ts: readonly Transition[], ruleId: string, scopeKey?: string): Transition[] {
  return ts.filter((t) => t.rule.id === ruleId && t.effects.includes('trigger') && (scopeKey === undefined || t.next.scopeKey === scopeKey));
}

export function resolved(ts: readonly Transition[], ruleId: string, scopeKey?: string): Transition[] {
  return ts.filter((t) => t.rule.id === ruleId && t.effects.includes('resolve') && (scopeKey === undefined || t.next.scopeKey === scopeKey));
}

/** A call the registry refused: the executor emits `invoked`, then `failed` with reason registry_disabled. */
export function blockedCall(ts: number, nodeType: NodeType = 'qontak_crm_deal_create', org = 'org-1', scope?: 'global' | 'organization'): ActionEvent[] {
  return [
    invoked(ts, nodeType, org),
    buildEvent({
      event: 'qontak_action_failed',
      event_id: id(ts + 1),
      timestamp: ts + 1,
      source: 'test',
      organization_id: org,
      node_type: nodeType,
      agent_id: 'a1',
      conversation_id: 'c1',
      reason: 'registry_disabled',
      duration_ms: 0,
      ...(scope ? { registry_scope: scope } : {}),
    }),
  ];
}

export function closed(ts: readonly Transition[], ruleId: string, scopeKey?: string): Transition[] {
  return resolved(ts, ruleId, scopeKey);
}

/** `n` calls that reached the action and succeeded: invoked, then executed. */
export function succeeded(ts: number, n: number, nodeType: NodeType = 'qontak_crm_deal_create', org = 'org-1'): ActionEvent[] {
  const out: ActionEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push(invoked(ts + 100 + i, nodeType, org));
    out.push(executed(ts + 150 + i, nodeType, org));
  }
  return out;
}

/**
 * A call the gate let through as a probe while its switch was off (half-open recovery): invoked, then its outcome
 * marked `probe: true` — executed when `ok`, failed with crm_server_error otherwise.
 */
export function probeCall(ts: number, ok: boolean, nodeType: NodeType = 'qontak_crm_deal_create', org = 'org-1'): ActionEvent[] {
  const base = { source: 'test', organization_id: org, node_type: nodeType, agent_id: 'a1', conversation_id: 'c1', probe: true as const };
  return [
    invoked(ts, nodeType, org),
    ok
      ? buildEvent({ ...base, event: 'qontak_action_executed', event_id: id(ts + 1), timestamp: ts + 1, duration_ms: 5 })
      : buildEvent({ ...base, event: 'qontak_action_failed', event_id: id(ts + 1), timestamp: ts + 1, reason: 'crm_server_error', duration_ms: 5 }),
  ];
}
