import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile, parseRules, SLO_RULES_PATH, withSloRules } from '../../../src/consumers/alerts/alert-rules.ts';
import { drive, fired, MIN, perMinute, T0, traffic } from './engine-driver.ts';

const slo = loadRulesFile(SLO_RULES_PATH);
const only = (id: string) => parseRules({ ...slo, rules: slo.rules.filter((r) => r.id === id) });
const DEAL = 'node_type=qontak_crm_deal_create';

describe('SLO burn rate on the 97% success target (multiwindow, multi-burn-rate)', () => {
  it('ships beside the three spec rules: 14.4x over 1 h / 5 min and 6x over 6 h / 30 min page, 1x over 3 days goes to Slack only', () => {
    const all = withSloRules(loadRulesFile());
    expect(all.rules.map((r) => r.id)).toEqual(['failure-rate-1h', 'token-refresh-failures-15m', 'sustained-failure-kill-switch', 'slo-fast-burn', 'slo-slow-burn', 'slo-budget-burn-3d']);
    const byId = Object.fromEntries(all.rules.map((r) => [r.id, r]));
    expect(byId['slo-fast-burn']).toMatchObject({ windowMinutes: 60, confirmWindowMinutes: 5, receivers: ['bot-oncall'] });
    expect(byId['slo-fast-burn'].threshold).toBeCloseTo(14.4 * 0.03, 12);
    expect(byId['slo-slow-burn']).toMatchObject({ windowMinutes: 360, confirmWindowMinutes: 30, receivers: ['bot-oncall'] });
    expect(byId['slo-slow-burn'].threshold).toBeCloseTo(6 * 0.03, 12);
    expect(byId['slo-budget-burn-3d']).toMatchObject({ windowMinutes: 4320, threshold: 0.03, receivers: ['bot-oncall-slack'] });
  });

  it('fast burn: 50% failing pages; a burn that already ended (1 h above 43.2%, last 5 minutes healthy) does not', () => {
    const e = new AlertEngine(only('slo-fast-burn'), { minuteMs: MIN });
    const ts = drive(e, perMinute(T0, 70, (m) => traffic(m, 20, 10)), T0 + 70 * MIN);
    expect(fired(ts, 'slo-fast-burn', DEAL)).toHaveLength(1);
    // 15 failing calls (below the minimum volume of 20), then healthy calls from minute 20: the hour reaches 20 calls
    // at 75% failing while its last 5 minutes are at 0%
    const ended = [...perMinute(T0, 15, (m) => traffic(m, 1, 1)), ...perMinute(T0 + 20 * MIN, 10, (m) => traffic(m, 1, 0))];
    const late = drive(new AlertEngine(only('slo-fast-burn'), { minuteMs: MIN }), ended, T0 + 30 * MIN);
    expect(fired(late, 'slo-fast-burn')).toEqual([]);
    // without the confirmation window the same stream would page
    const single = parseRules({ ...slo, rules: [{ ...only('slo-fast-burn').rules[0], confirmWindowMinutes: undefined }] });
    expect(fired(drive(new AlertEngine(single, { minuteMs: MIN }), ended, T0 + 30 * MIN), 'slo-fast-burn', DEAL)).toHaveLength(1);
  });

  it('fast burn at exactly 14.4x (43.2%) does not fire; just above does', () => {
    const at = perMinute(T0, 70, (m) => traffic(m, 125, 54)); // 54/125 = 43.2%
    expect(fired(drive(new AlertEngine(only('slo-fast-burn'), { minuteMs: MIN }), at, T0 + 70 * MIN), 'slo-fast-burn')).toEqual([]);
    const above = perMinute(T0, 70, (m) => traffic(m, 125, 55));
    expect(fired(drive(new AlertEngine(only('slo-fast-burn'), { minuteMs: MIN }), above, T0 + 70 * MIN), 'slo-fast-burn', DEAL)).toHaveLength(1);
  });

  it('slow burn: 20% failing for 6 h pages (6x), which the fast burn does not', () => {
    const events = perMinute(T0, 370, (m) => traffic(m, 10, 2));
    const rules = parseRules({ ...slo, rules: slo.rules.filter((r) => r.id !== 'slo-budget-burn-3d') });
    const ts = drive(new AlertEngine(rules, { minuteMs: MIN }), events, T0 + 370 * MIN);
    expect(fired(ts, 'slo-slow-burn', DEAL)).toHaveLength(1);
    expect(fired(ts, 'slo-fast-burn')).toEqual([]);
  });

  it('1x over 3 days: 4% failing for 3 days notifies, 2.9% does not; the window figures give its failure rate', () => {
    const run = (failEvery: number) => {
      const e = new AlertEngine(only('slo-budget-burn-3d'), { minuteMs: MIN });
      const ts = drive(e, perMinute(T0, 4320, (m, i) => traffic(m, 1, i % failEvery === failEvery - 1 ? 1 : 0)), T0 + 4320 * MIN);
      return { e, ts };
    };
    const four = run(25); // 1 in 25 = 4%
    expect(fired(four.ts, 'slo-budget-burn-3d', DEAL)).toHaveLength(1);
    const figures = four.e.windowFigures('slo-budget-burn-3d').find((f) => f.scopeKey === DEAL)!;
    expect(figures.failures / figures.calls).toBeCloseTo(0.04, 2);
    const below = run(34); // 1 in 34 = 2.9%
    expect(fired(below.ts, 'slo-budget-burn-3d')).toEqual([]);
  });
});
