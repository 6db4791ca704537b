import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile, parseRules } from '../../../src/consumers/alerts/alert-rules.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { drive, fired, MIN, perMinute, T0, traffic } from './engine-driver.ts';

const defaults = loadRulesFile();
const KS = 'sustained-failure-kill-switch';
// The action's scope alone: these cases are about the sustained clock, not about where the failures come from.
const ks = { ...defaults.rules.find((r) => r.id === KS)!, groupBy: [['node_type' as const]] };
const only = parseRules({ ...defaults, rules: [ks] });
const H = 60 * MIN;
const DEAL = 'node_type=qontak_crm_deal_create';
const run = (events: ActionEvent[], hours: number) => {
  const e = new AlertEngine(only, { minuteMs: MIN });
  return { e, ts: drive(e, events, T0 + hours * H) };
};

/**
 * A day of an action failing 50 % of its calls: 2 calls a minute (1 failing) from 08:00 to 20:00, 4 calls an
 * hour (2 failing) in the evening and early morning, nothing at all from 01:00 to 05:00. `hour12` replaces the
 * hour starting at 12:00 (0-based from the 08:00 start: hour 4).
 */
function day(hours: number, hour12?: (m: number) => ActionEvent[]): ActionEvent[] {
  return perMinute(T0, hours * 60, (m, i) => {
    const h = Math.floor(i / 60) % 24; // 0 = 08:00
    if (h === 4 && hour12) return hour12(m);
    if (h < 12) return traffic(m, 2, 1);
    if (h >= 17 && h < 21) return []; // 01:00–05:00: no calls at all
    return i % 15 === 0 ? traffic(m, 1, i % 30 === 0 ? 1 : 0) : [];
  });
}

/** One hour of 100 calls, 60 % failing, starting at each of `startHours`; nothing in between. */
function badHours(startHours: number[]): ActionEvent[] {
  return startHours.flatMap((h) => perMinute(T0 + h * H, 60, (m, i) => (i % 3 === 0 ? traffic(m, 5, 3) : [])));
}

describe('the kill switch disables only an action failing now and all along the last 24 h', () => {
  it('an action failing 50% all day and barely used at night is disabled once 24 h have passed and its current hour has 50 calls above 20%', () => {
    const { ts } = run(day(26), 26);
    const f = fired(ts, KS);
    expect(f).toHaveLength(1);
    expect(f[0].effects).toEqual(['trigger', 'action']);
    expect(f[0].next.pendingSince! - T0).toBeLessThan(MIN);
    expect(f[0].at - f[0].next.pendingSince!).toBeGreaterThanOrEqual(24 * H);
    // At 24 h the current hour (07:00–08:00) had 4 calls; it fires when the busy morning fills the window.
    expect(f[0].at - f[0].next.pendingSince!).toBeLessThan(24 * H + 30 * MIN);
    expect(f[0].observation.volume).toBeGreaterThanOrEqual(50);
    expect(f[0].observation.value).toBeGreaterThan(0.2);
  });

  it('a healthy hour above the minimum volume (60 calls, none failing) resets it', () => {
    expect(fired(run(day(26, (m) => traffic(m, 1, 0)), 26).ts, KS)).toEqual([]);
  });

  it('a healthy hour below the minimum volume (12 calls) does not reset it', () => {
    const f = fired(run(day(26, (m) => (Math.floor(m / MIN) % 5 === 0 ? traffic(m, 1, 0) : [])), 26).ts, KS);
    expect(f).toHaveLength(1);
    expect(f[0].at - f[0].next.pendingSince!).toBeGreaterThanOrEqual(24 * H);
  });

  it('one bad hour (100 calls, 60% failing) followed by no calls never disables, and its pending start is forgotten', () => {
    const { e, ts } = run(badHours([0]), 30);
    expect(fired(ts, KS)).toEqual([]);
    expect(ts.some((t) => t.next.status === 'pending')).toBe(true);
    expect(e.state(KS, DEAL)?.status).toBe('inactive');
    expect(e.state(KS, DEAL)?.pendingSince).toBeNull();
  });

  it('bad hours every 7 h (5 h without calls between them) disable once the bad hour after 24 h fills its window', () => {
    const f = fired(run(badHours([0, 7, 14, 21, 28]), 30).ts, KS);
    expect(f).toHaveLength(1);
    expect(f[0].next.pendingSince! - T0).toBeLessThan(MIN);
    expect(f[0].at).toBeGreaterThan(T0 + 28 * H);
    expect(f[0].at).toBeLessThan(T0 + 29 * H);
  });

  it('bad hours every 12 h (10 h without calls, longer than the 8 h gap) never disable: each burst starts a new pending', () => {
    const { e, ts } = run(badHours([0, 12, 24, 36]), 38);
    expect(fired(ts, KS)).toEqual([]);
    // the last burst started its own pending: a stale start did not survive the 10 h without calls
    expect(e.state(KS, DEAL)?.pendingSince).toBeGreaterThanOrEqual(T0 + 36 * H);
  });

  it('the minimum volume applies to the current hour: a day failing 100% at 48 calls an hour never disables, at 60 an hour it does', () => {
    const steady = (perHour: number) => perMinute(T0, 26 * 60, (m, i) => (i % Math.round(60 / perHour) === 0 ? traffic(m, 1, 1) : []));
    expect(fired(run(steady(40), 26).ts, KS)).toEqual([]);
    const f = fired(run(steady(60), 26).ts, KS);
    expect(f).toHaveLength(1);
    expect(f[0].observation.volume).toBeGreaterThanOrEqual(50);
  });
});
