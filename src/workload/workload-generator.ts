import { buildEvent, FAILURE_REASON_CODES, NODE_TYPE_NAMES, NODE_TYPES, type ActionEvent, type NodeType } from '../events/index.ts';
import { SeededRandom } from './seeded-random.ts';

/**
 * A seeded, realistic mix of Actionpulse events with known ground truth, for the truth test, the demo and
 * the benchmarks. It knows every unique event it made (`events`) and also how a messy pipeline would
 * deliver them (`deliveries`): producer retries duplicate some (same event_id), some arrive out of order,
 * and some arrive hours late. Metrics computed from `events` are the truth the dashboards must equal.
 */
export interface WorkloadOptions {
  seed: number;
  /** Exclusive end of event time (ms); use an hour boundary so dashboard ranges align. */
  endMs: number;
  /** How many hours of event time before `endMs`. */
  hours: number;
  organizations: number;
  agentsPerOrg: number;
  /** Number of action invocations; each yields invoked + executed|failed (+ sometimes a token refresh). */
  invocations: number;
  /** Share of deliveries that are producer-retry duplicates of an earlier event (default 0.05). */
  duplicateRate?: number;
  /** Share of events delivered up to 10 minutes after later events (default 0.05). */
  outOfOrderRate?: number;
  /** Share of events delivered 1–6 hours after their event time (default 0.02). */
  lateRate?: number;
}

export interface Workload {
  options: Required<WorkloadOptions>;
  /** Every distinct event, in event-time order: the ground truth. */
  events: ActionEvent[];
  /** What the producers send, in send order: `events` plus duplicates, shuffled and late. */
  deliveries: ActionEvent[];
  organizations: string[];
}

const HOUR = 3600_000;

/** Some actions fail more than others, so per-node_type numbers differ and filters matter. */
const FAILURE_PROBABILITY: Record<NodeType, number> = {
  qontak_crm_deal_create: 0.03,
  qontak_crm_ticket_create: 0.02,
  qontak_crm_ticket_update: 0.06,
  qontak_crm_deal_update: 0.04,
  qontak_chat_room_assign: 0.01,
  qontak_chat_room_resolve: 0.015,
  qontak_chat_room_tag: 0.12,
};

export function generateWorkload(input: WorkloadOptions): Workload {
  const o: Required<WorkloadOptions> = { duplicateRate: 0.05, outOfOrderRate: 0.05, lateRate: 0.02, ...input };
  const rnd = new SeededRandom(o.seed);
  const startMs = o.endMs - o.hours * HOUR;
  const at = (from = startMs, to = o.endMs) => from + Math.floor(rnd.next() * (to - from));
  const events: ActionEvent[] = [];
  const add = (e: Parameters<typeof buildEvent>[0] & { timestamp: number }) =>
    events.push(buildEvent({ ...e, event_id: rnd.uuidV7(e.timestamp) }));

  const organizations = Array.from({ length: o.organizations }, (_, i) => `org-${String(i + 1).padStart(3, '0')}`);
  const adopters: { org: string; agent: string; nodeTypes: NodeType[] }[] = [];
  for (const org of organizations) {
    const source = 'agent-runtime';
    for (let a = 1; a <= o.agentsPerOrg; a++) {
      const agent = `agent-${String(a).padStart(3, '0')}`;
      // 90% of agents are active (daily heartbeat); an inactive agent may still have actions configured,
      // and must then count neither in the adoption numerator nor the denominator.
      if (rnd.chance(0.9)) {
        for (let day = 0; day * 24 < o.hours; day++) {
          const from = startMs + day * 24 * HOUR;
          add({ event: 'qontak_agent_active', source, organization_id: org, agent_id: agent, timestamp: at(from, Math.min(o.endMs, from + 24 * HOUR)) });
        }
      }
      if (!rnd.chance(0.4)) continue;
      const nodeTypes = [...new Set(Array.from({ length: rnd.int(1, 4) }, () => rnd.pick(NODE_TYPE_NAMES)))];
      for (const nodeType of nodeTypes) {
        // Some configurations predate the window: adoption counts any configuration in place at `to`.
        const when = rnd.chance(0.3) ? startMs - rnd.int(1, 72) * HOUR : at();
        const configured = { source: 'builder-api', organization_id: org, agent_id: agent, node_type: nodeType } as const;
        add({ event: 'qontak_action_configured', ...configured, timestamp: when });
        // Configurations end: removed for good, or replaced (the new one is configured in the same millisecond,
        // so the order of the two rests on the event_id tie-break), or removed and configured again later.
        if (rnd.chance(0.25) && when < o.endMs - 2) {
          const ended = at(Math.max(when, startMs) + 1, o.endMs);
          const change = rnd.chance(0.5) ? 'removed' : 'replaced';
          add({ event: 'qontak_action_unconfigured', ...configured, change, timestamp: ended });
          if (change === 'replaced') add({ event: 'qontak_action_configured', ...configured, timestamp: ended });
          else if (rnd.chance(0.3)) add({ event: 'qontak_action_configured', ...configured, timestamp: at(ended, o.endMs) });
        }
      }
      adopters.push({ org, agent, nodeTypes });
    }
  }

  for (let i = 0; i < o.invocations && adopters.length > 0; i++) {
    const { org, agent, nodeTypes } = rnd.pick(adopters);
    const nodeType = rnd.pick(nodeTypes);
    const base = { source: 'agent-runtime', organization_id: org, agent_id: agent, node_type: nodeType };
    const conversation_id = `conv-${rnd.int(1, 1_000_000)}`;
    const t = at(startMs, o.endMs - 60_000);
    const duration_ms = Math.round(40 + rnd.next() ** 3 * 8000);
    add({ ...base, event: 'qontak_action_invoked', conversation_id, timestamp: t });
    if (NODE_TYPES[nodeType].group === 'mekari_qontak_crm' && rnd.chance(0.08)) {
      const outcome = rnd.chance(0.985) ? 'success' : 'failed';
      const withAction = rnd.chance(0.8);
      add({
        event: 'qontak_action_token_refreshed',
        source: 'agent-runtime',
        organization_id: org,
        outcome,
        ...(withAction ? { node_type: nodeType, agent_id: agent, conversation_id } : {}),
        timestamp: t + 5,
      });
    }
    if (rnd.chance(0.03)) {
      // Refused by the registry gate (kill switch): invoked, then failed at once, nothing attempted.
      add({ ...base, event: 'qontak_action_failed', conversation_id, reason: 'registry_disabled', duration_ms: 0, timestamp: t + 1 });
    } else if (nodeType.endsWith('_create') && rnd.chance(0.02)) {
      add({ ...base, event: 'qontak_action_failed', conversation_id, reason: 'crm_create_outcome_unknown', duration_ms, timestamp: t + duration_ms });
    } else if (rnd.chance(FAILURE_PROBABILITY[nodeType])) {
      add({ ...base, event: 'qontak_action_failed', conversation_id, reason: rnd.pick(FAILURE_REASON_CODES), duration_ms, timestamp: t + duration_ms });
    } else {
      add({ ...base, event: 'qontak_action_executed', conversation_id, duration_ms, timestamp: t + duration_ms });
    }
  }
  events.sort((a, b) => a.timestamp - b.timestamp);
  return { options: o, events, deliveries: deliveryOrder(events, o, rnd), organizations };
}

function deliveryOrder(events: ActionEvent[], o: Required<WorkloadOptions>, rnd: SeededRandom): ActionEvent[] {
  const keyed: { key: number; event: ActionEvent }[] = [];
  for (const event of events) {
    let key = event.timestamp;
    if (rnd.chance(o.lateRate)) key += rnd.int(1 * HOUR, 6 * HOUR);
    else if (rnd.chance(o.outOfOrderRate)) key += rnd.int(1000, 10 * 60_000);
    keyed.push({ key, event });
    // A producer retry: the same event (same event_id) sent again a little later, at a new offset.
    if (rnd.chance(o.duplicateRate)) keyed.push({ key: key + rnd.int(10, 10 * 60_000), event });
  }
  keyed.sort((a, b) => a.key - b.key);
  return keyed.map((k) => k.event);
}
