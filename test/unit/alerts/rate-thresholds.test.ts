import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES_PATH, loadRulesFile, SLO_RULES_PATH, withSloRules } from '../../../src/consumers/alerts/alert-rules.ts';
import { ERROR_BUDGET_RULE } from '../../../src/consumers/alerts/alert-evaluator.ts';
import { loadAlertRules, loadRateThresholds, SLO_BUDGET_RULE } from '../../../src/consumers/alerts/rate-thresholds.ts';

const dir = mkdtempSync(join(tmpdir(), 'rate-thresholds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type RawRules = { rules: { id: string; threshold: number; recoveryThreshold?: number; action?: string }[] };
const raw = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as RawRules;
function write(name: string, rules: RawRules): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(rules));
  return path;
}

describe('rate thresholds for the readers', () => {
  it('are the thresholds of the rules the alerts process loads: failure-rate-1h, the kill-switch rule, the SLO budget rule', () => {
    const rules = withSloRules(loadRulesFile());
    const of = (pick: (r: (typeof rules.rules)[number]) => boolean) => rules.rules.find(pick)!.threshold;
    expect(loadAlertRules({ sloBurnRate: true })).toEqual(rules);
    expect(loadRateThresholds({ sloBurnRate: true })).toEqual({
      failureRateAlert: of((r) => r.id === 'failure-rate-1h'),
      killSwitch: of((r) => r.action === 'disable_node_type'),
      sloAllowedFailureRate: of((r) => r.id === ERROR_BUDGET_RULE),
    });
  });

  it('name the same SLO rule as the evaluator’s error budget', () => {
    expect(SLO_BUDGET_RULE).toBe(ERROR_BUDGET_RULE);
  });

  it('follow a threshold changed in ALERT_RULES_FILE, and are null for a rule the file does not have', () => {
    const shipped = raw(DEFAULT_RULES_PATH);
    const changed = {
      ...shipped,
      rules: shipped.rules
        .filter((r) => r.action !== 'disable_node_type')
        .map((r) => (r.id === 'failure-rate-1h' ? { ...r, threshold: 0.15, recoveryThreshold: 0.15 } : r)),
    };
    const t = loadRateThresholds({ rulesFile: write('changed.json', changed), sloBurnRate: true });
    expect(t.failureRateAlert).toBe(0.15);
    expect(t.killSwitch).toBeNull();
  });

  it('keep the SLO target of slo-burn-rate-rules.json when SLO paging is off, unless the rules file has its own SLO rule', () => {
    const shippedSlo = loadRateThresholds({ sloBurnRate: true }).sloAllowedFailureRate;
    expect(loadAlertRules({ sloBurnRate: false }).rules.some((r) => r.id === SLO_BUDGET_RULE)).toBe(false);
    expect(loadRateThresholds({ sloBurnRate: false }).sloAllowedFailureRate).toBe(shippedSlo);
    const own = raw(SLO_RULES_PATH).rules.find((r) => r.id === SLO_BUDGET_RULE)!;
    const withOwn = { ...raw(DEFAULT_RULES_PATH), rules: [...raw(DEFAULT_RULES_PATH).rules, { ...own, threshold: 0.05 }] };
    expect(loadRateThresholds({ rulesFile: write('own-slo.json', withOwn), sloBurnRate: false }).sloAllowedFailureRate).toBe(0.05);
  });
});
