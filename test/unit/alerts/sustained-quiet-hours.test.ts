import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile, parseRules } from '../../../src/consumers/alerts/alert-rules.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { drive, fired, MIN, perMinute, T0, traffic } from './engine-driver.ts';

const defaults = loadRulesFile();
const KS = 'sustained-failure-kill-switch';
const ks = defaults.rules.find((r) => r.id === KS)!;
const only = parseRules({ ...defaults, rules: [ks] });
const H = 60 * MIN;

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

describe('sustained failure for 24 h survives quiet hours', () => {
  it('an action failing 50% all day and barely used at night is disabled at 24 h', () => {
    const ts = drive(new AlertEngine(only, { minuteMs: MIN }), day(26), T0 + 26 * H);
    const f = fired(ts, KS);
    expect(f).toHaveLength(1);
    expect(f[0].effects).toEqual(['trigger', 'action']);
    expect(f[0].at - f[0].next.pendingSince!).toBe(24 * H);
    expect(f[0].next.pendingSince! - T0).toBeLessThan(MIN);
  });

  it('a healthy hour above the minimum volume (60 calls, none failing) resets it', () => {
    const ts = drive(new AlertEngine(only, { minuteMs: MIN }), day(26, (m) => traffic(m, 1, 0)), T0 + 26 * H);
    expect(fired(ts, KS)).toEqual([]);
  });

  it('a healthy hour below the minimum volume (12 calls) does not reset it', () => {
    const ts = drive(new AlertEngine(only, { minuteMs: MIN }), day(26, (m) => (Math.floor(m / MIN) % 5 === 0 ? traffic(m, 1, 0) : [])), T0 + 26 * H);
    const f = fired(ts, KS);
    expect(f).toHaveLength(1);
    expect(f[0].at - f[0].next.pendingSince!).toBe(24 * H);
  });

  it('the minimum volume applies to the whole 24 h: 48 calls in the day do not disable, 50 do', () => {
    // one failing call every 30 minutes → 48 calls in any 24 h; add two to reach 50
    const sparse = (extra: number) =>
      perMinute(T0, 26 * 60, (m, i) => [...(i % 30 === 0 ? traffic(m, 1, 1) : []), ...(i >= 60 && i < 60 + extra ? traffic(m + 5000, 1, 1) : [])]);
    expect(fired(drive(new AlertEngine(only, { minuteMs: MIN }), sparse(0), T0 + 26 * H), KS)).toEqual([]);
    const f = fired(drive(new AlertEngine(only, { minuteMs: MIN }), sparse(2), T0 + 26 * H), KS);
    expect(f).toHaveLength(1);
    expect(f[0].observation.span!.volume).toBeGreaterThanOrEqual(50);
  });
});
