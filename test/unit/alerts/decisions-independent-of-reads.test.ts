import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Transition } from '../../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile, parseRules, type RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { buildEvent, type ActionEvent, type NodeType } from '../../../src/events/index.ts';
import { MIN, T0 } from './engine-driver.ts';
import { arrivals, reading, rng, run } from './reading-driver.ts';
import { byDecision, referenceDecisions, type Decision } from './reference-evaluator.ts';

/**
 * For any stream whose events arrive at most the evaluation delay out of order, the engine's decisions (pages,
 * resolves, repeats, kill-switch actions: rule, scope, instant, late or not) equal a brute-force reference over
 * the sorted events — read one by one, in any batches, shuffled, with duplicates, or with a restart anywhere.
 * Rules with short windows, so that 1–2 h streams reach every state. `ALERT_PROPERTY_RUNS` raises the run count.
 */
const RUNS = Number(process.env.ALERT_PROPERTY_RUNS ?? 25);
const m = (o: object) => o;
const completed = { event: ['qontak_action_executed', 'qontak_action_failed'] };
export const RULES: RulesFile = parseRules({
  evaluationDelayMinutes: 2,
  resolutionSeconds: 10,
  reenableGraceMinutes: 20,
  rules: [
    m({ id: 'rate', title: 'rate', kind: 'ratio', numerator: { event: 'qontak_action_failed' }, denominator: completed, groupBy: [['node_type'], []], windowMinutes: 10, threshold: 0.3, minVolume: 5, pendingMinutes: 2, recoveryHoldMinutes: 3, repeatMinutes: 15, receivers: ['x'], inhibitWhenDisabled: true, routeByBlastRadius: true }),
    m({ id: 'burn', title: 'burn', kind: 'ratio', numerator: { event: 'qontak_action_failed' }, denominator: completed, groupBy: [['node_type']], windowMinutes: 20, confirmWindowMinutes: 5, threshold: 0.5, minVolume: 5, pendingMinutes: 0, recoveryHoldMinutes: 5, receivers: ['x'] }),
    m({ id: 'refresh', title: 'refresh', kind: 'count', numerator: { event: 'qontak_action_token_refreshed', where: { outcome: 'failed' } }, groupBy: [['organization_id']], windowMinutes: 5, threshold: 2, recoveryHoldMinutes: 3, repeatMinutes: 20, receivers: ['x'] }),
    m({ id: 'ks', title: 'ks', kind: 'ratio', numerator: { event: 'qontak_action_failed' }, denominator: completed, groupBy: [['node_type']], windowMinutes: 10, threshold: 0.4, minVolume: 5, pendingMinutes: 30, pendingMode: 'sustained', sustainedGapMinutes: 20, recoveryHoldMinutes: 10, receivers: ['x'], action: 'disable_node_type' }),
  ],
});
const DELAY = RULES.evaluationDelayMinutes * MIN;
const NODE_TYPES: NodeType[] = ['qontak_crm_deal_create', 'qontak_chat_room_tag'];
const ORGS = ['org-a', 'org-b'];


interface Segment {
  minutes: number;
  callsPerMinute: number;
  failPercent: number;
  /** Index of a node_type whose calls the registry refuses in this segment (-1: none). */
  refused: number;
  refreshFailsPerMinute: number;
}

const segment = fc.record({
  minutes: fc.integer({ min: 2, max: 15 }),
  callsPerMinute: fc.integer({ min: 0, max: 12 }),
  failPercent: fc.constantFrom(0, 10, 30, 50, 80, 100),
  refused: fc.constantFrom(-1, -1, -1, 0, 1),
  refreshFailsPerMinute: fc.constantFrom(0, 0, 1, 2),
});

let ids = 0;
const id = () => `00000000-0000-4000-8000-${(++ids).toString(16).padStart(12, '0')}`;

export function streamOf(segments: Segment[], seed: number): { events: ActionEvent[]; until: number } {
  const r = rng(seed);
  const events: ActionEvent[] = [];
  let start = T0;
  for (const s of segments) {
    for (let i = 0; i < s.minutes; i++) {
      const minute = start + i * MIN;
      for (let c = 0; c < s.callsPerMinute; c++) {
        const nt = NODE_TYPES[Math.floor(r() * NODE_TYPES.length)];
        const org = ORGS[Math.floor(r() * ORGS.length)];
        const ts = minute + Math.floor(r() * MIN);
        const base = { source: 'test', organization_id: org, node_type: nt, agent_id: 'a1', conversation_id: 'c1' };
        events.push(buildEvent({ ...base, event: 'qontak_action_invoked', event_id: id(), timestamp: ts - 1 }));
        if (NODE_TYPES[s.refused] === nt) events.push(buildEvent({ ...base, event: 'qontak_action_failed', event_id: id(), timestamp: ts, reason: 'registry_disabled', duration_ms: 0 }));
        else if (r() * 100 < s.failPercent) events.push(buildEvent({ ...base, event: 'qontak_action_failed', event_id: id(), timestamp: ts, reason: 'crm_server_error', duration_ms: 5 }));
        else events.push(buildEvent({ ...base, event: 'qontak_action_executed', event_id: id(), timestamp: ts, duration_ms: 5 }));
      }
      for (let f = 0; f < s.refreshFailsPerMinute; f++) {
        const org = ORGS[Math.floor(r() * ORGS.length)];
        events.push(buildEvent({ event: 'qontak_action_token_refreshed', event_id: id(), timestamp: minute + Math.floor(r() * MIN), source: 'test', organization_id: org, outcome: 'failed' }));
      }
    }
    start += s.minutes * MIN;
  }
  events.sort((a, b) => a.timestamp - b.timestamp);
  return { events, until: start + 40 * MIN };
}


export function decisionsOf(ts: Transition[]): Decision[] {
  return ts
    .flatMap((t) => t.effects.map((effect): Decision => ({ rule: t.rule.id, scope: t.next.scopeKey, effect, at: t.at, ...(t.late ? { late: true } : {}), ...(effect === 'action' ? { graceUntil: t.graceUntil ?? null } : {}) })))
    .sort(byDecision);
}



describe('alert decisions depend on the events, not on how they were read', () => {
  // Synchronous: vitest cannot stop it midway, so its limit grows with the runs asked for (a busy machine: 1 s a run).
  it('equal a brute-force reference for any batching, shuffle within the evaluation delay, duplicates, restart point and checkpoint found behind it', { timeout: Math.max(60_000, RUNS * 1000) }, () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 3, maxLength: 10 }), fc.integer(), reading, fc.constantFrom(0, 0, 5, 30), (segments, seed, how, dupPercent) => {
        const { events, until } = streamOf(segments, seed);
        const expected = referenceDecisions(RULES, MIN, events, until);
        const batches = arrivals(events, how, dupPercent, seed, DELAY);
        const restartAfter = how.kind === 'restart' ? Math.floor(how.at * batches.length) : undefined;
        expect(decisionsOf(run(batches, until, restartAfter, RULES, how.kind === 'restart' ? how.lag : 0))).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('a count rule pages when one read holds a breach spanning more than its window (one failure, then six within 5 s thirty minutes later)', () => {
    const shipped = loadRulesFile();
    const rules = parseRules({ ...shipped, rules: shipped.rules.filter((r) => r.id === 'token-refresh-failures-15m') });
    const refresh = (ts: number) => buildEvent({ event: 'qontak_action_token_refreshed', event_id: id(), timestamp: ts, source: 'test', organization_id: 'org-a', outcome: 'failed' });
    const events = [refresh(T0), ...[0, 1, 2, 3, 4, 5].map((i) => refresh(T0 + 30 * MIN + i * 1000))];
    const pages = (batches: ActionEvent[][]) => run(batches, T0 + 60 * MIN, undefined, rules).filter((t) => t.effects.includes('trigger')).map((t) => t.at);
    expect(pages([events])).toEqual([T0 + 30 * MIN + 5000]);
    expect(pages(events.map((e) => [e]))).toEqual([T0 + 30 * MIN + 5000]);
  });
});
