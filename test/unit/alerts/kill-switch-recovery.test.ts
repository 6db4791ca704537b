import { describe, expect, it } from 'vitest';
import { AlertEngine, type Transition } from '../../../src/consumers/alerts/alert-engine.ts';
import { DEFAULT_RECOVERY, loadRulesFile, parseRules, RulesFileError } from '../../../src/consumers/alerts/alert-rules.ts';
import { isRecoveryStep, recoveryKey, RecoveryTracker, startCycle, type ProbeResult, type RecoveryState, type RecoveryStep } from '../../../src/consumers/alerts/recovery.ts';
import type { ActionEvent, NodeType } from '../../../src/events/index.ts';
import { blockedCall, MIN, perMinute, probeCall, T0, traffic } from './engine-driver.ts';

const DEAL: NodeType = 'qontak_crm_deal_create';
const HOUR = 60 * MIN;

const probe = (at: number, ok: boolean, organizationId = 'org-1'): ProbeResult => ({ at, ok, organizationId, eventId: `p${String(at).padStart(16, '0')}${organizationId}` });

/** Runs a tracker alone: commits every step as the store would and returns them. */
function steps(tracker: RecoveryTracker, through: number): RecoveryStep[] {
  const out: RecoveryStep[] = [];
  for (const s of tracker.decide(through)) {
    out.push(s);
    tracker.commit({ ...s.next, version: s.prev.version + 1 });
  }
  return out;
}

/** A disable of DEAL's switch at `at`, as the store starts it (cool-down from the defaults). */
function cycle(tracker: RecoveryTracker, at: number, organizationId: string | null = null, previous?: RecoveryState): RecoveryState {
  const s = { ...startCycle(DEFAULT_RECOVERY, MIN, { nodeType: DEAL, organizationId, ruleId: 'ks', scopeKey: `node_type=${DEAL}`, episode: 1, at }, previous), version: (previous?.version ?? 0) + 1 };
  tracker.commit(s);
  return s;
}

describe('kill-switch recovery: the defaults (cool-down 30 min doubling to 480, one call in 10, 5 successes)', () => {
  it('disabled at 10:00: probes from 10:30; the fifth successful probe in a row re-enables it at its own instant', () => {
    const tracker = new RecoveryTracker(DEFAULT_RECOVERY, MIN);
    const d = T0 + 10 * HOUR;
    cycle(tracker, d);
    expect(steps(tracker, d + 29 * MIN)).toEqual([]);
    const [probing] = steps(tracker, d + 30 * MIN);
    expect(probing).toMatchObject({ step: 'probing', at: d + 30 * MIN, next: { phase: 'probing', probingSince: d + 30 * MIN } });
    for (let i = 1; i <= 5; i++) tracker.probe(DEAL, probe(d + 30 * MIN + i * MIN, true));
    const taken = steps(tracker, d + 40 * MIN);
    expect(taken.map((s) => [s.step, s.at])).toEqual([
      ['probe', d + 31 * MIN],
      ['probe', d + 32 * MIN],
      ['probe', d + 33 * MIN],
      ['probe', d + 34 * MIN],
      ['reenable', d + 35 * MIN],
    ]);
    expect(taken[4].next).toMatchObject({ phase: 'reenabled', endedAt: d + 35 * MIN, endedBy: 'recovery' });
    expect(taken[4].next.probes).toHaveLength(5);
  });

  it('a failed probe keeps it off: the cool-down doubles from the failure (60, 120, 240 min) and stops at the 480-min cap', () => {
    const tracker = new RecoveryTracker(DEFAULT_RECOVERY, MIN);
    cycle(tracker, T0);
    const coolDowns: number[] = [];
    let at = T0;
    for (let round = 0; round < 6; round++) {
      const [probing] = steps(tracker, tracker.state(DEAL, null)!.coolUntil);
      expect(probing.step).toBe('probing');
      at = probing.at + 2 * MIN;
      tracker.probe(DEAL, probe(at - MIN, true));
      tracker.probe(DEAL, probe(at, false));
      const [ok, failed] = steps(tracker, at);
      expect([ok.step, failed.step]).toEqual(['probe', 'back_off']);
      expect(failed.next.coolUntil).toBe(at + failed.next.coolDownMinutes * MIN);
      coolDowns.push(failed.next.coolDownMinutes);
      expect(failed.next.rounds).toBe(round + 1);
    }
    expect(coolDowns).toEqual([60, 120, 240, 480, 480, 480]);
  });

  it('an action whose recovery is manual never probes: no cycle is followed', () => {
    const tracker = new RecoveryTracker({ ...DEFAULT_RECOVERY, actions: { [DEAL]: 'manual' } }, MIN);
    cycle(tracker, T0);
    expect(steps(tracker, T0 + 10 * HOUR)).toEqual([]);
  });

  it('probes at one instant are taken in event-id order whatever order they were read in; a duplicate counts once', () => {
    const config = { ...DEFAULT_RECOVERY, successesToReEnable: 2 };
    const decideWith = (order: ProbeResult[]) => {
      const tracker = new RecoveryTracker(config, MIN);
      cycle(tracker, T0);
      steps(tracker, T0 + 30 * MIN);
      for (const p of order) tracker.probe(DEAL, p);
      return steps(tracker, T0 + HOUR).map((s) => [s.step, s.at, s.next.probes.map((p) => p.eventId)]);
    };
    const at = T0 + 40 * MIN;
    const a = { at, ok: true, organizationId: 'org-1', eventId: 'a' };
    const b = { at, ok: false, organizationId: 'org-1', eventId: 'b' };
    expect(decideWith([b, a, a])).toEqual(decideWith([a, b]));
    expect(decideWith([a, b])).toEqual([['probe', at, ['a']], ['back_off', at, ['a', 'b']]]);
  });

  it("while the action is off for everyone every probe is the action's; after its re-enable an organization's probes are that organization's", () => {
    const config = { ...DEFAULT_RECOVERY, successesToReEnable: 1 };
    const tracker = new RecoveryTracker(config, MIN);
    cycle(tracker, T0, 'org-2');
    cycle(tracker, T0 + MIN, null);
    tracker.probe(DEAL, probe(T0 + 40 * MIN, true, 'org-2'));
    tracker.probe(DEAL, probe(T0 + 50 * MIN, true, 'org-2'));
    const taken = steps(tracker, T0 + HOUR).map((s) => [s.step, s.next.organizationId, s.at]);
    expect(taken).toEqual([
      ['probing', 'org-2', T0 + 30 * MIN],
      ['probing', null, T0 + 31 * MIN],
      ['reenable', null, T0 + 40 * MIN],
      ['reenable', 'org-2', T0 + 50 * MIN],
    ]);
  });

  it("after a restart during the action's second cycle, probes of its first cycle read again are still the action's, not an organization's", () => {
    const config = { ...DEFAULT_RECOVERY, successesToReEnable: 1 };
    const db = new Map<string, RecoveryState>();
    const keep = (t: RecoveryTracker) => (s: RecoveryState) => (db.set(recoveryKey(s.nodeType, s.organizationId), s), t.commit(s));
    const first = new RecoveryTracker(config, MIN);
    keep(first)(cycle(first, T0, 'org-2'));
    keep(first)(cycle(first, T0 + MIN, null));
    const p1 = probe(T0 + 40 * MIN, true, 'org-2');
    first.probe(DEAL, p1);
    for (const s of first.decide(T0 + 45 * MIN)) keep(first)({ ...s.next, version: s.prev.version + 1 });
    keep(first)(cycle(first, T0 + 50 * MIN, null, db.get(recoveryKey(DEAL, null))));
    // a new leader reads everything again from the persisted states
    const second = new RecoveryTracker(config, MIN);
    second.restore(db.values());
    second.probe(DEAL, p1);
    const again = [...second.decide(T0 + 45 * MIN)];
    expect(again).toEqual([]);
    expect(db.get(recoveryKey(DEAL, 'org-2'))?.phase).toBe('probing');
  });
});

describe('kill-switch recovery: a switch that flaps backs off', () => {
  /** Cycle 1 at T0: a failed round (60 min), then re-enabled by five probes; returns the re-enable's state. */
  function reenabledAfterOneFailedRound(tracker: RecoveryTracker): RecoveryState {
    cycle(tracker, T0);
    steps(tracker, T0 + 30 * MIN);
    tracker.probe(DEAL, probe(T0 + 31 * MIN, false));
    steps(tracker, T0 + 31 * MIN);
    for (let i = 1; i <= 5; i++) tracker.probe(DEAL, probe(T0 + 91 * MIN + i * MIN, true));
    const taken = steps(tracker, T0 + 100 * MIN);
    expect(taken.at(-1)).toMatchObject({ step: 'reenable', at: T0 + 96 * MIN, next: { coolDownMinutes: 60 } });
    return tracker.state(DEAL, null)!;
  }

  it('disabled again 5 h after its automatic re-enable (within 24 h): the cool-down goes on doubling, 120 min, then 240 after a failed probe', () => {
    const tracker = new RecoveryTracker(DEFAULT_RECOVERY, MIN);
    const reenabled = reenabledAfterOneFailedRound(tracker);
    const again = T0 + 96 * MIN + 5 * HOUR;
    const second = cycle(tracker, again, null, reenabled);
    expect(second).toMatchObject({ cycle: 2, phase: 'cooling', coolDownMinutes: 120, coolUntil: again + 120 * MIN, rounds: 0 });
    expect(steps(tracker, again + 119 * MIN)).toEqual([]);
    tracker.probe(DEAL, probe(again + 121 * MIN, false));
    const [probing, backOff] = steps(tracker, again + 121 * MIN);
    expect([probing.step, probing.at]).toEqual(['probing', again + 120 * MIN]);
    expect(backOff.next).toMatchObject({ phase: 'cooling', coolDownMinutes: 240 });
  });

  it('the doubled cool-down stops at the cap', () => {
    const config = { ...DEFAULT_RECOVERY, maxCoolDownMinutes: 90 };
    const tracker = new RecoveryTracker(config, MIN);
    const reenabled = reenabledAfterOneFailedRound(tracker);
    const s = { ...startCycle(config, MIN, { nodeType: DEAL, organizationId: null, ruleId: 'ks', scopeKey: `node_type=${DEAL}`, episode: 1, at: T0 + 5 * HOUR }, reenabled) };
    expect(s.coolDownMinutes).toBe(90);
  });

  it('disabled again 24 h or more after its automatic re-enable, or after a re-enable by a person: starts fresh at 30 min', () => {
    const tracker = new RecoveryTracker(DEFAULT_RECOVERY, MIN);
    const reenabled = reenabledAfterOneFailedRound(tracker);
    const start = (at: number, previous: RecoveryState) => startCycle(DEFAULT_RECOVERY, MIN, { nodeType: DEAL, organizationId: null, ruleId: 'ks', scopeKey: `node_type=${DEAL}`, episode: 1, at }, previous);
    expect(start(reenabled.endedAt! + 24 * HOUR - 1, reenabled).coolDownMinutes).toBe(120);
    expect(start(reenabled.endedAt! + 24 * HOUR, reenabled).coolDownMinutes).toBe(30);
    expect(start(reenabled.endedAt! + HOUR, { ...reenabled, phase: 'ended', endedBy: 'admin:jane' }).coolDownMinutes).toBe(30);
    expect(startCycle({ ...DEFAULT_RECOVERY, resetAfterMinutes: 0 }, MIN, { nodeType: DEAL, organizationId: null, ruleId: 'ks', scopeKey: 'k', episode: 1, at: reenabled.endedAt! + MIN }, reenabled).coolDownMinutes).toBe(30);
  });
});

describe('kill-switch recovery: a probe read late', () => {
  const config = { ...DEFAULT_RECOVERY, successesToReEnable: 2 };

  it('counts where it is read when its switch decided nothing after it, and the same after a restart that reads it again', () => {
    const db = new Map<string, RecoveryState>();
    const keep = (t: RecoveryTracker, taken: RecoveryStep[]) => (s: RecoveryStep) => {
      const next = { ...s.next, version: s.prev.version + 1 };
      db.set(recoveryKey(next.nodeType, next.organizationId), next);
      t.commit(next);
      taken.push(s);
    };
    const live = new RecoveryTracker(config, MIN);
    const started = cycle(live, T0);
    db.set(recoveryKey(DEAL, null), started);
    const liveSteps: RecoveryStep[] = [];
    for (const s of live.decide(T0 + 40 * MIN)) keep(live, liveSteps)(s); // probing from T0 + 30 min
    const ok1 = probe(T0 + 35 * MIN, true);
    const ok2 = probe(T0 + 36 * MIN, true);
    live.probe(DEAL, ok1, T0 + 40 * MIN); // both read after the watermark passed them
    for (const s of live.decide(T0 + 41 * MIN)) keep(live, liveSteps)(s);
    expect(liveSteps.map((s) => [s.step, s.at])).toEqual([['probing', T0 + 30 * MIN], ['probe', T0 + 35 * MIN]]);
    // a restart: the new leader starts from the persisted state and reads both probes again, in one batch
    const rebuilt = new RecoveryTracker(config, MIN);
    rebuilt.restore(db.values());
    const afterRestart: RecoveryStep[] = [];
    rebuilt.probe(DEAL, ok1, T0 + 33 * MIN);
    rebuilt.probe(DEAL, ok2, T0 + 34 * MIN);
    for (const s of rebuilt.decide(T0 + 41 * MIN)) keep(rebuilt, afterRestart)(s);
    expect(afterRestart.map((s) => [s.step, s.at, s.next.probes.length])).toEqual([['reenable', T0 + 36 * MIN, 2]]);
    // the live tracker, reading the second probe late, decides the same
    live.probe(DEAL, ok2, T0 + 42 * MIN);
    const liveMore: RecoveryStep[] = [];
    for (const s of live.decide(T0 + 42 * MIN)) liveMore.push(s);
    expect(liveMore.map((s) => [s.step, s.at, s.next.probes.length])).toEqual([['reenable', T0 + 36 * MIN, 2]]);
  });

  it('does not count once its switch has decided a later instant (a later probe), live or after a restart', () => {
    const run = (restart: boolean) => {
      let tracker = new RecoveryTracker(config, MIN);
      const db = new Map<string, RecoveryState>();
      const s0 = cycle(tracker, T0);
      db.set(recoveryKey(DEAL, null), s0);
      const taken: [string, number][] = [];
      const decide = (through: number) => {
        for (const s of tracker.decide(through)) {
          const next = { ...s.next, version: s.prev.version + 1 };
          db.set(recoveryKey(DEAL, null), next);
          tracker.commit(next);
          taken.push([s.step, s.at]);
        }
      };
      const failed = probe(T0 + 35 * MIN, false);
      const ok = probe(T0 + 37 * MIN, true);
      tracker.probe(DEAL, ok, T0 + 36 * MIN);
      decide(T0 + 40 * MIN);
      tracker.probe(DEAL, failed, T0 + 40 * MIN);
      if (restart) {
        tracker = new RecoveryTracker(config, MIN);
        tracker.restore(db.values());
        tracker.probe(DEAL, ok, T0 + 36 * MIN);
        tracker.probe(DEAL, failed, T0 + 40 * MIN);
      }
      decide(T0 + 45 * MIN);
      return taken;
    };
    expect(run(false)).toEqual([['probing', T0 + 30 * MIN], ['probe', T0 + 37 * MIN]]);
    expect(run(true)).toEqual(run(false));
  });
});

describe('kill-switch recovery in the engine', () => {
  /** The kill-switch rule alone, shortened (10-min window, 10 min sustained, 10 calls); a 20-min grace. */
  const rules = (() => {
    const base = loadRulesFile();
    const ks = base.rules.find((r) => r.id === 'sustained-failure-kill-switch')!;
    return parseRules({ ...base, reenableGraceMinutes: 20, rules: [{ ...ks, groupBy: [['node_type']], windowMinutes: 10, pendingMinutes: 10, minVolume: 10 }] });
  })();

  /** Drives the engine; a kill-switch action outside the grace disables (a recovery cycle starts), as the store does. */
  function run(events: readonly ActionEvent[], until: number) {
    const engine = new AlertEngine(rules, { minuteMs: MIN });
    const transitions: Transition[] = [];
    const recovery: RecoveryStep[] = [];
    const evaluate = () => {
      for (const d of engine.decide()) {
        if (isRecoveryStep(d)) {
          recovery.push(d);
          engine.commitRecovery({ ...d.next, version: d.prev.version + 1 });
          continue;
        }
        transitions.push(d);
        const next = { ...d.next, version: d.prev.version + 1 };
        if (d.effects.includes('action')) {
          const grace = d.graceUntil != null && d.at < d.graceUntil;
          next.actionStatus = grace ? 'waiting_grace' : 'done';
          if (!grace) {
            next.actionAt = d.at;
            const prev = engine.recovery.state(DEAL, null);
            engine.commitRecovery({ ...startCycle(rules.recovery, MIN, { nodeType: DEAL, organizationId: null, ruleId: d.rule.id, scopeKey: d.next.scopeKey, episode: d.next.episode, at: d.at }, prev), version: (prev?.version ?? 0) + 1 });
          }
        }
        engine.commit(next);
      }
    };
    for (const e of events) {
      engine.ingest(e, 0);
      evaluate();
    }
    engine.watermark.setCaughtUp(0, true);
    engine.watermark.advanceTo(until + rules.evaluationDelayMinutes * MIN);
    evaluate();
    return { engine, transitions, recovery };
  }

  it('failing 100 %: disabled; refused calls for the cool-down; five successful probes re-enable it; the kill switch then waits out the grace from the re-enable', () => {
    const failing = perMinute(T0, 15, (m) => traffic(m, 10, 10));
    const first = run(failing, T0 + 15 * MIN);
    const disable = first.transitions.find((t) => t.effects.includes('action'))!;
    expect(disable).toBeDefined();
    const d = disable.at;
    // refused calls from the disable on, one probe in ten going through after the cool-down; every probe succeeds
    const off = perMinute(T0 + 15 * MIN, 50, (m) => {
      const out = Array.from({ length: 9 }, (_, i) => blockedCall(m + i * 1000, DEAL, 'org-1')).flat();
      if (m >= d + 30 * MIN) out.push(...probeCall(m + 30_000, true));
      return out;
    });
    // still failing after the re-enable: the kill switch may act only after the grace
    const after = perMinute(T0 + 65 * MIN, 30, (m) => traffic(m, 10, 10));
    const { recovery, transitions } = run([...failing, ...off, ...after], T0 + 95 * MIN);
    const probingAt = d + 30 * MIN;
    expect(recovery.map((s) => s.step)).toEqual(['probing', 'probe', 'probe', 'probe', 'probe', 'reenable']);
    expect(recovery[0].at).toBe(probingAt);
    const reenabledAt = recovery[5].at;
    expect(reenabledAt).toBe(Math.ceil(probingAt / MIN) * MIN + 4 * MIN + 30_001);
    const actions = transitions.filter((t) => t.effects.includes('action') && t.at > reenabledAt);
    expect(actions.length).toBeGreaterThan(0);
    for (const t of actions) expect(t.graceUntil).toBeGreaterThanOrEqual(reenabledAt + 20 * MIN);
  });

  it('a probe read 10 min after its instant, no later probe counted meanwhile, is counted at its own instant', () => {
    const failing = perMinute(T0, 15, (m) => traffic(m, 10, 10));
    const d = run(failing, T0 + 15 * MIN).transitions.find((t) => t.effects.includes('action'))!.at;
    const refused = (from: number, minutes: number) => perMinute(from, minutes, (m) => blockedCall(m, DEAL, 'org-1'));
    const first = probeCall(d + 31 * MIN, true);
    const late = probeCall(d + 32 * MIN, true);
    // refused calls carry the watermark 10 min past the second probe before it is read
    const events = [...failing, ...refused(T0 + 15 * MIN, Math.ceil((d + 30 * MIN - T0) / MIN) - 15), ...first, ...refused(d + 31 * MIN + 10_000, 12), ...late];
    const { engine, recovery } = run(events, d + 50 * MIN);
    expect(engine.recovery.stats.lateProbes).toBe(1);
    expect(recovery.map((s) => [s.step, s.at])).toEqual([
      ['probing', d + 30 * MIN],
      ['probe', d + 31 * MIN + 1],
      ['probe', d + 32 * MIN + 1],
    ]);
  });

  it('with no refused call to show it in the stream, the automatic re-enable still starts the grace at its instant, and a failure that goes on disables again after it', () => {
    const failing = perMinute(T0, 15, (m) => traffic(m, 10, 10));
    const d = run(failing, T0 + 15 * MIN).transitions.find((t) => t.effects.includes('action'))!.at;
    // no calls while off but the probes, all fine; then failing again
    const probes = perMinute(T0 + 15 * MIN, 50, (m) => (m >= d + 30 * MIN ? probeCall(m + 30_000, true) : []));
    const after = perMinute(T0 + 65 * MIN, 40, (m) => traffic(m, 10, 10));
    const { recovery, transitions } = run([...failing, ...probes, ...after], T0 + 105 * MIN);
    const reenable = recovery.find((s) => s.step === 'reenable')!;
    const actions = transitions.filter((t) => t.effects.includes('action') && t.at > reenable.at);
    expect(actions[0].graceUntil).toBe(reenable.at + 20 * MIN);
    const again = actions.find((t) => t.graceUntil != null && t.at >= t.graceUntil);
    expect(again).toBeDefined();
    expect(actions.filter((t) => t.at < reenable.at + 20 * MIN).every((t) => t.graceUntil === reenable.at + 20 * MIN)).toBe(true);
  });

  it('a probe that fails ends the round: the switch stays off and the next round starts a doubled cool-down after the failure', () => {
    const failing = perMinute(T0, 15, (m) => traffic(m, 10, 10));
    const d = run(failing, T0 + 15 * MIN).transitions.find((t) => t.effects.includes('action'))!.at;
    // the first two probes of the round succeed, the third fails
    const first = Math.ceil((d + 30 * MIN) / MIN) * MIN;
    const off = perMinute(T0 + 15 * MIN, 150, (m) => {
      const out = Array.from({ length: 9 }, (_, i) => blockedCall(m + i * 1000, DEAL, 'org-1')).flat();
      if (m >= first && m <= first + 2 * MIN) out.push(...probeCall(m + 30_000, m < first + 2 * MIN));
      return out;
    });
    const { recovery } = run([...failing, ...off], T0 + 165 * MIN);
    expect(recovery.map((s) => s.step)).toEqual(['probing', 'probe', 'probe', 'back_off', 'probing']);
    const failedAt = recovery[3].at;
    expect(failedAt).toBe(first + 2 * MIN + 30_001);
    expect(recovery[3].next).toMatchObject({ phase: 'cooling', coolDownMinutes: 60, coolUntil: failedAt + 60 * MIN, rounds: 1 });
    expect(recovery[4].at).toBe(failedAt + 60 * MIN);
  });
});

describe('recovery settings in the rules file', () => {
  const minimal = { rules: [{ id: 'x', title: 'x', kind: 'count', numerator: { event: 'qontak_action_invoked' }, groupBy: [[]], windowMinutes: 1, threshold: 1, receivers: ['x'] }] };

  it('defaults to a 30-min cool-down doubling up to 480 min, one call in 10, 5 successes, a fresh start 24 h after a re-enable, every action automatic', () => {
    expect(parseRules(minimal).recovery).toEqual({ coolDownMinutes: 30, maxCoolDownMinutes: 480, probeEvery: 10, successesToReEnable: 5, resetAfterMinutes: 1440, actions: {} });
    expect(loadRulesFile().recovery).toEqual(parseRules(minimal).recovery);
  });

  it('refuses a cap below the cool-down and an unknown action, naming the setting', () => {
    expect(() => parseRules({ ...minimal, recovery: { coolDownMinutes: 60, maxCoolDownMinutes: 30 } })).toThrow(/recovery\.maxCoolDownMinutes: must be at least coolDownMinutes/);
    expect(() => parseRules({ ...minimal, recovery: { actions: { qontak_crm_nothing: 'manual' } } })).toThrow(RulesFileError);
    expect(() => parseRules({ ...minimal, recovery: { actions: { qontak_crm_nothing: 'manual' } } })).toThrow(/recovery\.actions\.qontak_crm_nothing: not a known action/);
    expect(() => parseRules({ ...minimal, recovery: { resetAfterMinutes: -1 } })).toThrow(/recovery\.resetAfterMinutes/);
  });
});
