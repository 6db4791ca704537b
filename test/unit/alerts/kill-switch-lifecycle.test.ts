import { describe, expect, it } from 'vitest';
import { AlertEngine, type Transition } from '../../../src/consumers/alerts/alert-engine.ts';
import { isRecoveryStep } from '../../../src/consumers/alerts/recovery.ts';
import { buildNotification, summaryOf } from '../../../src/consumers/alerts/alert-notification.ts';
import { loadRulesFile, parseRules } from '../../../src/consumers/alerts/alert-rules.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { blockedCall, drive, fired, MIN, perMinute, resolved, succeeded, T0, traffic } from './engine-driver.ts';

const defaults = loadRulesFile();
const DEAL = 'qontak_crm_deal_create';
const TAG = 'qontak_chat_room_tag';

/**
 * Drives the engine and answers kill-switch actions as the store does (without the cap): inside the grace period
 * "waiting_grace", otherwise "done" at the transition's instant.
 */
function driveKillSwitch(engine: AlertEngine, events: readonly ActionEvent[], untilTs: number): { all: Transition[]; decisions: { at: number; decision: string }[] } {
  const all: Transition[] = [];
  const decisions: { at: number; decision: string }[] = [];
  const accept = (t: Transition) => {
    all.push(t);
    const next = { ...t.next, version: t.prev.version + 1 };
    if (t.effects.includes('action')) {
      const decision = t.graceUntil != null && t.at < t.graceUntil ? 'waiting_grace' : 'done';
      next.actionStatus = decision;
      if (decision === 'done') next.actionAt = t.at;
      decisions.push({ at: t.at, decision });
    }
    engine.commit(next);
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
  engine.watermark.setCaughtUp(0, true);
  engine.watermark.advanceTo(untilTs + engine.rules.evaluationDelayMinutes * engine.options.minuteMs);
  evaluate();
  return { all, decisions };
}

describe('kill switch lifecycle', () => {
  it('blocked calls leave numerator and denominator of the overall rate (12% stays 12%, not 56%)', () => {
    const events = perMinute(T0, 90, (m) => [...traffic(m, 100, 12, TAG), ...Array.from({ length: 100 }, (_, i) => blockedCall(m + 300 + i * 10)).flat()]);
    const ts = drive(new AlertEngine(defaults, { minuteMs: MIN }), events, T0 + 90 * MIN);
    const overall = fired(ts, 'failure-rate-1h', 'all');
    expect(overall).toHaveLength(1);
    expect(overall[0].observation.numerator / overall[0].observation.denominator).toBeCloseTo(0.12, 10);
    expect(overall[0].observation.excluded).toEqual([DEAL]);
    // the disabled action never pages on its own
    expect(fired(ts, 'failure-rate-1h', `node_type=${DEAL}`)).toEqual([]);
  });

  it('after a disable the action\'s page closes "disabled by the kill switch" and the overall alert goes quiet and resolves healthy', () => {
    const before = perMinute(T0, 30, (m) => [...traffic(m, 100, 50), ...traffic(m + 500, 100, 0, TAG)]);
    const after = perMinute(T0 + 30 * MIN, 150, (m) => [...Array.from({ length: 50 }, (_, i) => blockedCall(m + i * 100)).flat(), ...traffic(m + 500, 100, 0, TAG)]);
    const ts = drive(new AlertEngine(defaults, { minuteMs: MIN }), [...before, ...after], T0 + 180 * MIN);
    const deal = `node_type=${DEAL}`;
    expect(fired(ts, 'failure-rate-1h', deal)).toHaveLength(1);
    const closedDeal = resolved(ts, 'failure-rate-1h', deal);
    expect(closedDeal).toHaveLength(1);
    expect(closedDeal[0].resolution).toBe('disabled');
    expect(closedDeal[0].at).toBeLessThanOrEqual(T0 + 31 * MIN);
    const line = summaryOf(buildNotification(closedDeal[0], 'resolve', { dashboardBaseUrl: 'http://d' }));
    expect(line).toMatch(/^\[CLOSED: DISABLED\]/);
    expect(line).toContain('Disabled by the kill switch');
    const overall = resolved(ts, 'failure-rate-1h', 'all');
    expect(overall).toHaveLength(1);
    expect(overall[0].resolution).toBe('healthy');
    expect(overall[0].observation.value).toBe(0);
    // quiet: no repeat and no second trigger for either scope after the disable
    expect(ts.filter((t) => t.rule.id === 'failure-rate-1h' && t.at > T0 + 30 * MIN && (t.effects.includes('trigger') || t.effects.includes('repeat')))).toEqual([]);
  });

  it('re-enable → grace period → a failure that persists disables a second time, not before the grace ends', () => {
    const ks = { ...defaults.rules.find((r) => r.id === 'sustained-failure-kill-switch')!, groupBy: [['node_type' as const]] };
    const rules = parseRules({ ...defaults, reenableGraceMinutes: 30, rules: [{ ...ks, windowMinutes: 10, pendingMinutes: 10, minVolume: 10 }] });
    const engine = new AlertEngine(rules, { minuteMs: MIN });
    // failing from minute 0; the first disable lands at minute 10; refused calls from minute 12 to 60; re-enabled at 60, still failing
    const events = [
      ...perMinute(T0, 12, (m) => traffic(m, 10, 5)),
      ...perMinute(T0 + 12 * MIN, 48, (m) => Array.from({ length: 10 }, (_, i) => blockedCall(m + i * 1000)).flat()),
      ...perMinute(T0 + 60 * MIN, 60, (m) => traffic(m, 10, 5)),
    ];
    const { all, decisions } = driveKillSwitch(engine, events, T0 + 120 * MIN);
    expect(fired(all, ks.id)).toHaveLength(1);
    const done = decisions.filter((d) => d.decision === 'done');
    expect(done).toHaveLength(2);
    expect(done[0].at).toBeLessThanOrEqual(T0 + 11 * MIN);
    // the re-enable is the first call reaching the action at 60:00.1; grace = 30 min
    const reenabled = T0 + 60 * MIN + 100;
    expect(decisions.some((d) => d.decision === 'waiting_grace' && d.at > reenabled && d.at < reenabled + 30 * MIN)).toBe(true);
    expect(done[1].at).toBeGreaterThanOrEqual(reenabled + 30 * MIN);
    expect(done[1].at).toBeLessThan(reenabled + 30 * MIN + 10_000 + 1);
  });

  it('after a re-enable with healthy calls, the kill-switch alert resolves instead of acting again', () => {
    const ks = { ...defaults.rules.find((r) => r.id === 'sustained-failure-kill-switch')!, groupBy: [['node_type' as const]] };
    const rules = parseRules({ ...defaults, reenableGraceMinutes: 30, rules: [{ ...ks, windowMinutes: 10, pendingMinutes: 10, minVolume: 10, recoveryHoldMinutes: 10 }] });
    const events = [
      ...perMinute(T0, 12, (m) => traffic(m, 10, 5)),
      ...perMinute(T0 + 12 * MIN, 48, (m) => Array.from({ length: 10 }, (_, i) => blockedCall(m + i * 1000)).flat()),
      ...perMinute(T0 + 60 * MIN, 60, (m) => succeeded(m, 10)),
    ];
    const { all, decisions } = driveKillSwitch(new AlertEngine(rules, { minuteMs: MIN }), events, T0 + 120 * MIN);
    expect(decisions.map((d) => d.decision)).toEqual(['done']);
    const r = resolved(all, ks.id);
    expect(r).toHaveLength(1);
    expect(r[0].resolution).toBe('healthy');
  });
});

describe('half-open probes in the stream', () => {
  it('a probe outcome counts in the rates but does not show a disabled action on again', () => {
    const ks = { ...defaults.rules.find((r) => r.id === 'sustained-failure-kill-switch')!, groupBy: [['node_type' as const]] };
    const rules = parseRules({ ...defaults, rules: [{ ...ks, windowMinutes: 10, pendingMinutes: 10, minVolume: 10 }] });
    const run = (marked: boolean) => {
      const engine = new AlertEngine(rules, { minuteMs: MIN });
      const call = (ts: number): ActionEvent => ({ ...traffic(ts, 1, 1)[1], ...(marked ? { probe: true } : {}) }) as ActionEvent;
      // every minute for 20 minutes: five refused calls, then one failing call that reached the action
      const events = perMinute(T0, 20, (m) => [...Array.from({ length: 5 }, (_, i) => blockedCall(m + i * 1000)).flat(), call(m + 30_000)]);
      return { engine, ...driveKillSwitch(engine, events, T0 + 20 * MIN) };
    };
    // The same calls unmarked read as the action on again (the newest call reached it): the alert starts and fires.
    expect(fired(run(false).all, ks.id)).not.toEqual([]);
    // Marked as probes, the action still reads disabled: nothing starts.
    const { engine, all } = run(true);
    expect(all).toEqual([]);
    const figures = engine.windowFigures(ks.id).find((f) => f.scopeKey === 'node_type=qontak_crm_deal_create')!;
    expect(figures.failures).toBe(10);
    expect(figures.calls).toBe(10);
    expect(figures.blocked).toBe(50);
  });
});
