import type { AlertRule } from './alert-rules.ts';

/**
 * The lifecycle of one rule in one scope: inactive → pending → firing → resolved (→ pending …).
 * Pure: time is the evaluation instant in event time, durations are already in milliseconds, and the
 * caller persists the result. Effects are what the transition owes the outside world.
 */
export type AlertStatus = 'inactive' | 'pending' | 'firing' | 'resolved';
export type ActionStatus = 'none' | 'done' | 'dry_run' | 'capped' | 'waiting_grace' | 'already_disabled';

export interface AlertState {
  ruleId: string;
  scopeKey: string;
  scope: Record<string, string>;
  status: AlertStatus;
  pendingSince: number | null;
  firingSince: number | null;
  recoveringSince: number | null;
  lastNotifiedAt: number | null;
  lastEvalAt: number | null;
  lastValue: number | null;
  /** Counts firings; notification keys include it, so a replayed transition cannot page twice. */
  episode: number;
  repeats: number;
  actionStatus: ActionStatus;
  /** Optimistic-concurrency version of the persisted row (0 = no row yet). */
  version: number;
}

export type Effect = 'trigger' | 'repeat' | 'resolve' | 'action';

export interface Observation {
  value: number;
  numerator: number;
  denominator: number;
  /** Events the minimum volume is measured on: the denominator of a ratio, the count itself otherwise. */
  volume: number;
}

export interface RuleTimings {
  pendingMs: number;
  recoveryHoldMs: number;
  repeatMs: number;
}

export function initialState(ruleId: string, scopeKey: string, scope: Record<string, string>): AlertState {
  return {
    ruleId,
    scopeKey,
    scope,
    status: 'inactive',
    pendingSince: null,
    firingSince: null,
    recoveringSince: null,
    lastNotifiedAt: null,
    lastEvalAt: null,
    lastValue: null,
    episode: 0,
    repeats: 0,
    actionStatus: 'none',
    version: 0,
  };
}

export function isBreaching(rule: AlertRule, o: Observation): boolean {
  return o.volume >= rule.minVolume && o.volume > 0 && o.value > rule.threshold;
}

export function isRecovered(rule: AlertRule, o: Observation): boolean {
  return o.volume < rule.minVolume || o.volume === 0 || o.value <= (rule.recoveryThreshold ?? rule.threshold);
}

export function step(rule: AlertRule, timings: RuleTimings, s: AlertState, o: Observation, t: number): { next: AlertState; effects: Effect[] } {
  const next: AlertState = { ...s, lastEvalAt: t, lastValue: o.value };
  const effects: Effect[] = [];
  const fire = () => {
    next.status = 'firing';
    next.firingSince = t;
    next.recoveringSince = null;
    next.lastNotifiedAt = t;
    next.episode = s.episode + 1;
    next.repeats = 0;
    next.actionStatus = 'none';
    effects.push('trigger');
    if (rule.action !== 'none') effects.push('action');
  };
  switch (s.status) {
    case 'inactive':
    case 'resolved':
      if (isBreaching(rule, o)) {
        next.pendingSince = t;
        if (timings.pendingMs === 0) fire();
        else next.status = 'pending';
      }
      break;
    case 'pending':
      if (!isBreaching(rule, o)) {
        next.status = 'inactive';
        next.pendingSince = null;
      } else if (t - (s.pendingSince ?? t) >= timings.pendingMs) {
        fire();
      }
      break;
    case 'firing':
      if (isRecovered(rule, o)) {
        next.recoveringSince = s.recoveringSince ?? t;
        if (t - next.recoveringSince >= timings.recoveryHoldMs) {
          next.status = 'resolved';
          next.pendingSince = null;
          next.recoveringSince = null;
          next.lastNotifiedAt = t;
          effects.push('resolve');
        }
        break;
      }
      next.recoveringSince = null;
      if (timings.repeatMs > 0 && s.lastNotifiedAt !== null && t - s.lastNotifiedAt >= timings.repeatMs) {
        next.lastNotifiedAt = t;
        next.repeats = s.repeats + 1;
        effects.push('repeat');
      }
      // A disable postponed by the re-enable grace period is tried again while the condition holds.
      if (rule.action !== 'none' && s.actionStatus === 'waiting_grace') effects.push('action');
      break;
  }
  return { next, effects };
}

/** Fields that matter for persistence; a step that changed none of them needs no write. */
export function changed(a: AlertState, b: AlertState): boolean {
  return (
    a.status !== b.status ||
    a.pendingSince !== b.pendingSince ||
    a.firingSince !== b.firingSince ||
    a.recoveringSince !== b.recoveringSince ||
    a.lastNotifiedAt !== b.lastNotifiedAt ||
    a.episode !== b.episode ||
    a.actionStatus !== b.actionStatus
  );
}
