import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRules, type RecoveryConfig } from '../../../src/consumers/alerts/alert-rules.ts';
import { isActive, recoveryKey, RecoveryTracker, startCycle, type RecoveryState } from '../../../src/consumers/alerts/recovery.ts';
import { SeededRandom } from '../../../src/workload/seeded-random.ts';
import { MIN, T0 } from './engine-driver.ts';
import { referenceRecovery, switchKeyOf, type RefDecision, type RefDisable, type RefProbe } from './recovery-reference.ts';

/**
 * The recovery's decisions (probe rounds started, probes counted, back-offs with their cool-down, re-enables: which
 * switch, at which instant; a switch disabled again soon after its re-enable going on from its doubled cool-down) equal a plain one-pass reference over the sorted inputs, for any probes read at most the
 * evaluation delay out of order or read late (up to an hour after the watermark passed them: each is taken where it was
 * read, and counts only if its switch decided nothing later), in any batches, with duplicates, and with a restart
 * anywhere (the new tracker starts from the persisted states and reads everything again, as a rebuild from Kafka does). Every step the tracker yields
 * is accepted by the compare-and-set, so none is yielded twice. `ALERT_PROPERTY_RUNS` raises the run count.
 */
const RUNS = Number(process.env.ALERT_PROPERTY_RUNS ?? 50);
const DELAY = 2 * MIN;
const SPAN = 4 * 60 * MIN;

/** The workload's seeded mulberry32 as a function: the inputs' details from one seed fast-check can shrink. */
function rng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

const SWITCHES: [string, string | null][] = [
  ['qontak_crm_deal_create', null],
  ['qontak_crm_deal_create', 'org-x'],
  ['qontak_chat_room_tag', 'org-y'],
  ['qontak_chat_room_tag', null],
];
const ORGS = ['org-x', 'org-y', 'org-z'];

const scenario = fc.record({
  coolDown: fc.integer({ min: 1, max: 20 }),
  capFactor: fc.integer({ min: 1, max: 8 }),
  successes: fc.integer({ min: 1, max: 4 }),
  resetAfter: fc.constantFrom(0, 20, 90, 1440),
  manualTag: fc.boolean(),
  disables: fc.array(fc.record({ sw: fc.integer({ min: 0, max: SWITCHES.length - 1 }), minute: fc.integer({ min: 0, max: 200 }) }), { minLength: 1, maxLength: 6 }),
  probes: fc.integer({ min: 0, max: 80 }),
  okPercent: fc.constantFrom(50, 80, 95, 100),
  latePercent: fc.constantFrom(0, 0, 10, 30),
  batches: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 12 }),
  duplicates: fc.integer({ min: 0, max: 10 }),
  restartAt: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
  seed: fc.integer(),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function inputsOf(s: Scenario) {
  const r = rng(s.seed);
  const config: RecoveryConfig = parseRules({
    recovery: { coolDownMinutes: s.coolDown, maxCoolDownMinutes: s.coolDown * s.capFactor, probeEvery: 5, successesToReEnable: s.successes, resetAfterMinutes: s.resetAfter, actions: s.manualTag ? { qontak_chat_room_tag: 'manual' } : {} },
    rules: [{ id: 'x', title: 'x', kind: 'count', numerator: { event: 'qontak_action_invoked' }, groupBy: [[]], windowMinutes: 1, threshold: 1, receivers: ['x'] }],
  }).recovery;
  const disables: RefDisable[] = s.disables.map((d) => ({ nodeType: SWITCHES[d.sw][0], organizationId: SWITCHES[d.sw][1], at: T0 + d.minute * MIN }));
  const probes: RefProbe[] = [];
  for (let i = 0; i < s.probes; i++) {
    const nodeType = SWITCHES[Math.floor(r() * SWITCHES.length)][0];
    probes.push({ nodeType, organizationId: ORGS[Math.floor(r() * ORGS.length)], at: T0 + Math.floor(r() * SPAN), eventId: `e${String(i).padStart(4, '0')}`, ok: r() * 100 < s.okPercent });
  }
  // Read order: most probes at most the delay behind the newest read before it, some later than that (read after the
  // watermark passed them); some read twice, later.
  const lateness = () => (r() * 100 < s.latePercent ? DELAY + r() * 60 * MIN : r() * DELAY * 0.9);
  const order = probes.map((p) => ({ p, key: p.at + lateness() })).sort((a, b) => a.key - b.key).map((x) => x.p);
  for (let i = 0; i < s.duplicates && order.length > 0; i++) {
    const at = Math.floor(r() * order.length);
    order.splice(Math.min(order.length, at + 1 + Math.floor(r() * 5)), 0, order[at]);
  }
  // The watermark when each is read: the newest event time read before it − the delay (the same on a rebuild).
  let newest = -Infinity;
  const read = order.map((p) => {
    const readAt = newest - DELAY;
    newest = Math.max(newest, p.at);
    return { ...p, readAt };
  });
  return { config, disables, read, until: T0 + SPAN + 60 * MIN };
}

function run(s: Scenario): { decisions: RefDecision[]; rejected: number } {
  const { config, disables, read, until } = inputsOf(s);
  const db = new Map<string, RecoveryState>();
  const decisions: RefDecision[] = [];
  let rejected = 0;
  const pendingDisables = [...disables].sort((a, b) => a.at - b.at);
  let tracker = new RecoveryTracker(config, MIN);
  const decide = (through: number) => {
    for (const step of tracker.decide(through)) {
      const key = recoveryKey(step.prev.nodeType, step.prev.organizationId);
      const stored = db.get(key);
      if ((stored?.version ?? 0) !== step.prev.version) {
        rejected++;
        tracker.commit(stored!);
        continue;
      }
      const next = { ...step.next, version: step.prev.version + 1 };
      db.set(key, next);
      tracker.commit(next);
      decisions.push({ switchKey: switchKeyOf(next.nodeType, next.organizationId), step: step.step, at: step.at, probes: next.probes.length, coolDownMinutes: next.coolDownMinutes, cycle: next.cycle });
    }
  };
  // As the engine does: recovery decided through an instant, then that instant's disable, started as the store would.
  const advance = (watermark: number) => {
    while (pendingDisables.length > 0 && pendingDisables[0].at <= watermark) {
      const d = pendingDisables.shift()!;
      decide(d.at);
      const key = recoveryKey(d.nodeType, d.organizationId);
      if (config.actions[d.nodeType] === 'manual' || isActive(db.get(key))) continue;
      const state = { ...startCycle(config, MIN, { ...d, ruleId: 'ks', scopeKey: `node_type=${d.nodeType}`, episode: 1 }, db.get(key)), version: (db.get(key)?.version ?? 0) + 1 };
      db.set(key, state);
      tracker.commit(state);
    }
    decide(watermark);
  };
  const feed = (events: RefProbe[]) => {
    let newest = -Infinity;
    let at = 0;
    s.batches.forEach((size, bi) => {
      if (bi === s.restartAt && newest > -Infinity) {
        // A new leader: the persisted states, then every probe read so far again (the rebuild), in other batches.
        tracker = new RecoveryTracker(config, MIN);
        tracker.restore(db.values());
        let replayNewest = -Infinity;
        for (let i = 0; i < at; i += 7) {
          for (const p of events.slice(i, Math.min(at, i + 7))) {
            tracker.probe(p.nodeType, p, p.readAt);
            replayNewest = Math.max(replayNewest, p.at);
          }
          advance(replayNewest - DELAY);
        }
      }
      const batch = bi === s.batches.length - 1 ? events.slice(at) : events.slice(at, at + size);
      at += batch.length;
      for (const p of batch) {
        tracker.probe(p.nodeType, p, p.readAt);
        newest = Math.max(newest, p.at);
      }
      advance(newest - DELAY);
    });
    advance(until);
  };
  feed(read);
  return { decisions, rejected };
}

describe('kill-switch recovery against a one-pass reference', () => {
  it('decides the same steps at the same instants however the probes are read, with duplicates and a restart, and yields no step twice', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { config, disables, read, until } = inputsOf(s);
        const expected = referenceRecovery(config, MIN, disables, read, until);
        const { decisions, rejected } = run(s);
        expect(rejected).toBe(0);
        // Steps of different switches at one instant are independent: compared in (instant, switch) order, each
        // switch's own steps in the order taken.
        const order = (d: RefDecision[]) => [...d].sort((a, b) => a.at - b.at || a.switchKey.localeCompare(b.switchKey));
        expect(order(decisions)).toEqual(order(expected));
      }),
      { numRuns: RUNS },
    );
  });
});
