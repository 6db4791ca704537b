import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { drive, fired, MIN, refreshFailed, T0 } from './engine-driver.ts';

const S = 1000;
const RULE = 'token-refresh-failures-15m';
const engine = () => new AlertEngine(loadRulesFile(), { minuteMs: MIN });
/** Five failures at 15:01–15:05 (mm:ss) after a first one at `first` ms past T0. */
const six = (first: number) => [first, ...[1, 2, 3, 4, 5].map((s) => 15 * MIN + s * S)].map((t) => refreshFailed(T0 + t, 'org-a'));

describe('token-refresh rule: any 15-minute span, not clock minutes', () => {
  it('six failures at 00:59 and 15:01–15:05 (14 min 06 s apart, across clock-minute edges) page at the sixth', () => {
    const ts = drive(engine(), six(59 * S), T0 + 60 * MIN);
    const f = fired(ts, RULE);
    expect(f).toHaveLength(1);
    expect(f[0].at).toBe(T0 + 15 * MIN + 5 * S);
    expect(f[0].observation.value).toBe(6);
    expect(f[0].late).toBeUndefined();
  });

  it('the same six spread over 15 min 01 s do not page', () => {
    expect(fired(drive(engine(), six(4 * S), T0 + 60 * MIN), RULE)).toEqual([]);
  });

  it('a span of exactly 15 min pages (the window [t − 15 min, t] is closed); 15 min and 1 ms does not', () => {
    expect(fired(drive(engine(), six(5 * S), T0 + 60 * MIN), RULE)).toHaveLength(1);
    expect(fired(drive(engine(), six(5 * S - 1), T0 + 60 * MIN), RULE)).toEqual([]);
  });

  it('exactly five in any span never page (strict >)', () => {
    const five = [0, 1, 2, 3, 4].map((i) => refreshFailed(T0 + i * S, 'org-a'));
    expect(fired(drive(engine(), five, T0 + 60 * MIN), RULE)).toEqual([]);
  });

  it('arrival order does not change the decision: the six read newest first page once, at the newest', () => {
    const ts = drive(engine(), six(59 * S).reverse(), T0 + 60 * MIN);
    const f = fired(ts, RULE);
    expect(f).toHaveLength(1);
    expect(f[0].at).toBe(T0 + 15 * MIN + 5 * S);
  });

  it('a seventh failure while firing does not page again, and the alert resolves once the span holds five or fewer for the hold', () => {
    const events = [...six(59 * S), refreshFailed(T0 + 16 * MIN, 'org-a')];
    const ts = drive(engine(), events, T0 + 60 * MIN);
    expect(fired(ts, RULE)).toHaveLength(1);
    const res = ts.filter((t) => t.rule.id === RULE && t.effects.includes('resolve'));
    expect(res).toHaveLength(1);
    expect(res[0].resolution).toBe('healthy');
    expect(res[0].observation.value).toBeLessThanOrEqual(5);
  });
});
