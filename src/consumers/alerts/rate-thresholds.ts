import { DEFAULT_RULES_PATH, loadRulesFile, SLO_RULES_PATH, withSloRules, type RulesFile } from './alert-rules.ts';

/**
 * The thresholds that readers show beside a rate (dashboard SQL, Grafana, weekly review) come from the alert rules
 * the alerts process evaluates, so a threshold changed in the rules file changes every reader and no reader
 * writes a number down again. Fractions of completed calls (0..1), as in the rules file; null when the loaded
 * rules have no such rule.
 */
export interface RateThresholds {
  /** The `failure-rate-1h` rule: fires when failed / completed calls over the trailing hour is above it. */
  failureRateAlert: number | null;
  /** The kill-switch rule (`action: disable_node_type`): disables an action whose rate stays above it. */
  killSwitch: number | null;
  /** The success SLO's error-budget rule (`slo-budget-burn-3d`): the failure rate the SLO allows; target = 1 − it. */
  sloAllowedFailureRate: number | null;
}

export const FAILURE_RATE_RULE = 'failure-rate-1h';
/** Must equal the evaluator's ERROR_BUDGET_RULE (a test checks): kept here so the dashboard need not load the evaluator. */
export const SLO_BUDGET_RULE = 'slo-budget-burn-3d';

export interface RulesSettings {
  /** `ALERT_RULES_FILE`; the shipped default-rules.json when unset. */
  rulesFile?: string;
  /** `ALERT_SLO_BURN_RATE`: the SLO burn-rate rules beside them. */
  sloBurnRate: boolean;
}

/** The rules exactly as the alerts process loads them. */
export function loadAlertRules(s: RulesSettings): RulesFile {
  const base = loadRulesFile(s.rulesFile ?? DEFAULT_RULES_PATH);
  return s.sloBurnRate ? withSloRules(base) : base;
}

export function rateThresholds(rules: RulesFile): RateThresholds {
  const threshold = (found: RulesFile['rules'][number] | undefined) => found?.threshold ?? null;
  return {
    failureRateAlert: threshold(rules.rules.find((r) => r.id === FAILURE_RATE_RULE)),
    killSwitch: threshold(rules.rules.find((r) => r.action === 'disable_node_type')),
    sloAllowedFailureRate: threshold(rules.rules.find((r) => r.id === SLO_BUDGET_RULE)),
  };
}

/**
 * The readers' thresholds for these settings. With `ALERT_SLO_BURN_RATE=false` nothing pages on the SLO, but the
 * success target is still the one the SLO rules file declares, unless the rules file has an SLO rule of its own.
 */
export function loadRateThresholds(s: RulesSettings): RateThresholds {
  const t = rateThresholds(loadAlertRules(s));
  if (t.sloAllowedFailureRate !== null || s.sloBurnRate) return t;
  return { ...t, sloAllowedFailureRate: rateThresholds(loadRulesFile(SLO_RULES_PATH)).sloAllowedFailureRate };
}

/** As fractions in API answers (snake_case, like the metric rows). */
export function thresholdsJson(t: RateThresholds): { failure_rate_alert: number | null; kill_switch: number | null; slo_allowed_failure_rate: number | null } {
  return { failure_rate_alert: t.failureRateAlert, kill_switch: t.killSwitch, slo_allowed_failure_rate: t.sloAllowedFailureRate };
}
