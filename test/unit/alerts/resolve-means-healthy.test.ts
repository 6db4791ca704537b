import { describe, expect, it } from 'vitest';
import { AlertEngine, type Transition } from '../../../src/consumers/alerts/alert-engine.ts';
import { buildNotification, summaryOf } from '../../../src/consumers/alerts/alert-notification.ts';
import { loadRulesFile, parseRules } from '../../../src/consumers/alerts/alert-rules.ts';
import { drive, fired, MIN, perMinute, resolved, T0, traffic } from './engine-driver.ts';

const defaults = loadRulesFile();
const RULE = 'failure-rate-1h';
const DEAL = 'node_type=qontak_crm_deal_create';
const engine = (rules = defaults) => new AlertEngine(rules, { minuteMs: MIN });
const text = (t: Transition, kind: 'trigger' | 'repeat' | 'resolve') => summaryOf(buildNotification(t, kind, { dashboardBaseUrl: 'http://d' }));

describe('resolve means healthy', () => {
  it('traffic dropping while 100% failing does not resolve; the repeat says insufficient traffic', () => {
    const bad = perMinute(T0, 30, (m) => traffic(m, 100, 100));
    // then one call every 10 minutes for 6 hours, every one failing
    const trickle = perMinute(T0 + 30 * MIN, 360, (m, i) => (i % 10 === 0 ? traffic(m, 1, 1) : []));
    const ts = drive(engine(), [...bad, ...trickle], T0 + 390 * MIN);
    expect(fired(ts, RULE, DEAL)).toHaveLength(1);
    expect(resolved(ts, RULE, DEAL)).toEqual([]);
    const repeat = ts.find((t) => t.rule.id === RULE && t.next.scopeKey === DEAL && t.effects.includes('repeat'))!;
    expect(repeat.observation.volume).toBeLessThan(20);
    expect(text(repeat, 'repeat')).toContain(`Insufficient traffic: ${repeat.observation.volume} calls in the window (minimum 20); still firing`);
  });

  it('with the minimum volume (20 calls) at 0% it resolves after the hold; with 19 it stays firing', () => {
    const bad = perMinute(T0, 30, (m) => traffic(m, 100, 100));
    // after the bad stretch has left the window, a steady 20 (or 19) calls an hour, none failing
    const calm = (perHour: number) => perMinute(T0 + 30 * MIN, 300, (m, i) => (i % 60 < perHour ? traffic(m, 1, 0) : []));
    const enough = drive(engine(), [...bad, ...calm(20)], T0 + 330 * MIN);
    const r = resolved(enough, RULE, DEAL);
    expect(r).toHaveLength(1);
    expect(r[0].resolution).toBe('healthy');
    expect(r[0].observation.volume).toBeGreaterThanOrEqual(20);
    expect(text(r[0], 'resolve')).toMatch(/^\[RESOLVED\]/);
    const short = drive(engine(), [...bad, ...calm(19)], T0 + 330 * MIN);
    expect(resolved(short, RULE, DEAL)).toEqual([]);
  });

  it('never reads RESOLVED with a value above the threshold, over random traffic', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const events = perMinute(T0, 600, (m) => {
      const calls = Math.floor(rnd() < 0.3 ? rnd() * 3 : rnd() * 40);
      return traffic(m, calls, Math.floor(calls * rnd() * (rnd() < 0.5 ? 0.4 : 0.1)));
    });
    const ts = drive(engine(), events, T0 + 700 * MIN);
    const res = ts.filter((t) => t.effects.includes('resolve'));
    expect(fired(ts, RULE).length).toBeGreaterThan(0);
    expect(res.length).toBeGreaterThan(0);
    for (const t of res) {
      expect(t.resolution).toBe('healthy');
      expect(t.observation.value).toBeLessThanOrEqual(t.rule.recoveryThreshold ?? t.rule.threshold);
      expect(t.observation.volume).toBeGreaterThanOrEqual(t.rule.minVolume);
    }
  });

  it('the optional no-traffic close comes after its time without enough calls and says so, never RESOLVED', () => {
    const rule = { ...defaults.rules[0], noTrafficResolveMinutes: 120 };
    const rules = parseRules({ ...defaults, rules: [rule] });
    const ts = drive(engine(rules), perMinute(T0, 30, (m) => traffic(m, 100, 100)), T0 + 400 * MIN);
    const r = resolved(ts, RULE, DEAL);
    expect(r).toHaveLength(1);
    expect(r[0].resolution).toBe('no_traffic');
    const quiet = ts.filter((t) => t.next.scopeKey === DEAL && t.next.quietSince !== null).map((t) => t.next.quietSince!);
    expect(r[0].at - Math.min(...quiet)).toBe(120 * MIN);
    const line = text(r[0], 'resolve');
    expect(line).toMatch(/^\[CLOSED: NO TRAFFIC\]/);
    expect(line).toContain('No traffic: 0 calls in the window (minimum 20); closed without a verdict');
    // without the setting, the same stream stays firing
    expect(resolved(drive(engine(), perMinute(T0, 30, (m) => traffic(m, 100, 100)), T0 + 400 * MIN), RULE, DEAL)).toEqual([]);
  });
});
