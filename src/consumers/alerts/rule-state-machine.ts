import type { AlertRule } from './alert-rules.ts';

/**
 * The lifecycle of one rule in one scope: inactive → pending → firing → resolved (→ pending …).
 * Pure: time is the evaluation instant in event time, durations are already in milliseconds, and the
 * caller persists the result. Effects are what the transition owes the outside world.
 */
export type AlertStatus = 'inactive' | 'pending' | 'firing' | 'resolved';
export type ActionStatus = 'none' | 'done' | 'dry_run' | 'capped' | 'waiting_grace' | 'already_disabled' | 'deferred_global';

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
  /** Event time of the last automatic disable in this episode (a re-enable is a call reaching the action after it). */
  actionAt: number | null;
  /**
   * Firing: since when the window has had fewer than the minimum volume. Pending on a sustained rule: since when
   * no window has been above the threshold (a pending start older than the rule's gap is forgotten).
   */
  quietSince: number | null;
  /** Optimistic-concurrency version of the persisted row (0 = no row yet). */
  version: number;
}

export type Effect = 'trigger' | 'repeat' | 'resolve' | 'action';
/** Why an alert closed: only `healthy` reads RESOLVED. */
export type Resolution = 'healthy' | 'disabled' | 'no_traffic';

export interface Observation {
  value: number;
  numerator: number;
  denominator: number;
  /** Events the minimum volume is measured on: the denominator of a ratio (blocked calls left out), the count itself otherwise. */
  volume: number;
  /** Blocked calls in the window (left out of numerator and denominator). */
  blocked?: number;
  /** The scope's node_type is refused by the registry at this instant (its calls are blocked). */
  disabled?: boolean;
  /** Node_types left out of this (wider) scope because they are disabled. */
  excluded?: string[];
  /** Event time at which calls reached the action again after the last automatic disable. */
  reenabledAt?: number | null;
  /** A sustained rule's whole pending span: rate and calls. */
  span?: { value: number; volume: number };
  /** A multiwindow rule's short window: it must breach too. */
  confirm?: { value: number; volume: number };
}

export interface RuleTimings {
  pendingMs: number;
  recoveryHoldMs: number;
  repeatMs: number;
  noTrafficMs: number;
  /** Sustained rules: the longest stretch without a window above the threshold that keeps a pending start. */
  gapMs?: number;
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
    actionAt: null,
    quietSince: null,
    version: 0,
  };
}

/** Enough calls to judge: the minimum volume, and for a ratio at least one call. */
export function hasVolume(rule: AlertRule, o: Observation): boolean {
  return o.volume >= rule.minVolume && (rule.kind === 'count' || o.volume > 0);
}

export function isBreaching(rule: AlertRule, o: Observation): boolean {
  return hasVolume(rule, o) && o.volume > 0 && o.value > rule.threshold && (o.confirm === undefined || o.confirm.value > rule.threshold);
}

/** Healthy: enough calls, and at or below the recovery threshold. Too little data is never healthy. */
export function isHealthy(rule: AlertRule, o: Observation): boolean {
  return (rule.kind === 'count' || hasVolume(rule, o)) && o.value <= (rule.recoveryThreshold ?? rule.threshold);
}

/** Sustained rules: a window above the threshold with any calls is evidence; too few calls are neither. */
function isEvidence(rule: AlertRule, o: Observation): boolean {
  return rule.pendingMode === 'sustained' ? o.volume > 0 && o.value > rule.threshold : isBreaching(rule, o);
}

function spanBreaches(rule: AlertRule, o: Observation): boolean {
  if (rule.pendingMode !== 'sustained') return isBreaching(rule, o);
  const span = o.span ?? { value: o.value, volume: o.volume };
  return span.volume >= rule.minVolume && span.volume > 0 && span.value > rule.threshold;
}

export interface StepResult {
  next: AlertState;
  effects: Effect[];
  resolution?: Resolution;
}

export function step(rule: AlertRule, timings: RuleTimings, s: AlertState, o: Observation, t: number): StepResult {
  const next: AlertState = { ...s, lastEvalAt: t, lastValue: o.value };
  const effects: Effect[] = [];
  let resolution: Resolution | undefined;
  const inhibited = rule.inhibitWhenDisabled && o.disabled === true;
  const fire = () => {
    next.status = 'firing';
    next.firingSince = t;
    next.recoveringSince = null;
    next.quietSince = null;
    next.lastNotifiedAt = t;
    next.episode = s.episode + 1;
    next.repeats = 0;
    next.actionStatus = 'none';
    next.actionAt = null;
    effects.push('trigger');
    if (rule.action !== 'none') effects.push('action');
  };
  const close = (why: Resolution) => {
    next.status = 'resolved';
    next.pendingSince = null;
    next.recoveringSince = null;
    next.quietSince = null;
    next.lastNotifiedAt = t;
    effects.push('resolve');
    resolution = why;
  };
  switch (s.status) {
    case 'inactive':
    case 'resolved':
      if (inhibited || o.disabled) break;
      if (isEvidence(rule, o)) {
        next.pendingSince = t;
        next.quietSince = null;
        if (timings.pendingMs === 0 && isBreaching(rule, o) && spanBreaches(rule, o)) fire();
        else next.status = 'pending';
      }
      break;
    case 'pending': {
      if (inhibited) {
        next.status = 'inactive';
        next.pendingSince = null;
        break;
      }
      if (o.disabled) break; // a human switched it off: nothing to decide, nothing reset
      if (rule.pendingMode === 'sustained') {
        // A healthy busy window resets the clock; windows with no evidence (no calls, or too few at or below the
        // threshold) neither reset nor count, but a start with no evidence for longer than the gap is forgotten.
        const evidence = isEvidence(rule, o);
        next.quietSince = evidence ? null : (s.quietSince ?? t);
        if (isHealthy(rule, o) || (next.quietSince !== null && t - next.quietSince > (timings.gapMs ?? Infinity))) {
          next.status = 'inactive';
          next.pendingSince = null;
          next.quietSince = null;
        } else if (t - (s.pendingSince ?? t) >= timings.pendingMs && isBreaching(rule, o) && spanBreaches(rule, o)) {
          fire(); // failing now (the current window has the volume and is above the threshold) and all along
        }
        break;
      }
      if (!isBreaching(rule, o)) {
        next.status = 'inactive';
        next.pendingSince = null;
      } else if (t - (s.pendingSince ?? t) >= timings.pendingMs) {
        fire();
      }
      break;
    }
    case 'firing':
      if (inhibited) {
        close('disabled');
        break;
      }
      if (o.disabled) {
        // The kill switch acted (or a human): the episode stays open, quietly, until calls reach the action again.
        next.recoveringSince = null;
        next.quietSince = null;
        break;
      }
      if (isHealthy(rule, o)) {
        next.quietSince = null;
        next.recoveringSince = s.recoveringSince ?? t;
        if (t - next.recoveringSince >= timings.recoveryHoldMs) close('healthy');
        break;
      }
      next.recoveringSince = null;
      if (!hasVolume(rule, o)) {
        next.quietSince = s.quietSince ?? t;
        if (timings.noTrafficMs > 0 && t - next.quietSince >= timings.noTrafficMs) {
          close('no_traffic');
          break;
        }
      } else {
        next.quietSince = null;
      }
      if (timings.repeatMs > 0 && s.lastNotifiedAt !== null && t - s.lastNotifiedAt >= timings.repeatMs) {
        next.lastNotifiedAt = t;
        next.repeats = s.repeats + 1;
        effects.push('repeat');
      }
      if (rule.action !== 'none' && isBreaching(rule, o)) {
        // A disable postponed by the re-enable grace period is tried again while the condition holds; after a
        // human re-enabled the action, a failure that persists acts again (the grace and the cap still apply).
        const reenabled = o.reenabledAt != null && (s.actionStatus === 'done' || s.actionStatus === 'already_disabled');
        // An organization's breach that stood aside for the action-wide decision is looked at again while it lasts.
        if (s.actionStatus === 'waiting_grace' || s.actionStatus === 'deferred_global' || reenabled) effects.push('action');
      }
      break;
  }
  return { next, effects, resolution };
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
    a.actionStatus !== b.actionStatus ||
    a.actionAt !== b.actionAt ||
    a.quietSince !== b.quietSince
  );
}
