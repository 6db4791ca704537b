import type { FailureReason } from './failure-reasons.ts';

/**
 * How a `qontak_action_failed` event counts in every rate that Actionpulse computes (the alert rules, the SLO
 * burn rate, the dashboard's success and failure rates, the weekly review). One decision, used everywhere:
 *
 * - `blocked`: the call was refused because the action is disabled in node_registries (the kill switch or an
 *   admin). Nothing was attempted, so it says nothing about the action's quality: the call leaves both the
 *   numerator and the denominator of every rate, and is shown as its own count. On the wire it stays a
 *   `qontak_action_failed` with `reason: registry_disabled` (schema v1 unchanged); the executor still emits
 *   `qontak_action_invoked` first, so rates subtract one invocation per blocked call.
 * - `unknown`: a create whose outcome is unknown (`crm_create_outcome_unknown`: it timed out and may have
 *   succeeded). The agent could not confirm the action to the customer, so it counts as a failure (as the spec's
 *   success rate `executed / (executed + failed)` does), and is also shown as its own count ("may have
 *   succeeded") so that a PM can see how much of the failure rate it is.
 * - `failure`: every other reason.
 */
export type FailureClass = 'blocked' | 'unknown' | 'failure';

export const BLOCKED_REASONS: readonly FailureReason[] = ['registry_disabled'];
export const UNKNOWN_OUTCOME_REASONS: readonly FailureReason[] = ['crm_create_outcome_unknown'];

export function failureClass(reason: string): FailureClass {
  if ((BLOCKED_REASONS as readonly string[]).includes(reason)) return 'blocked';
  if ((UNKNOWN_OUTCOME_REASONS as readonly string[]).includes(reason)) return 'unknown';
  return 'failure';
}

/** True for a failed event that leaves every rate (a call refused by the registry gate). */
export function isBlockedCall(event: { event: string; reason?: string }): boolean {
  return event.event === 'qontak_action_failed' && event.reason !== undefined && failureClass(event.reason) === 'blocked';
}

/** SQL list of the blocked reasons, for ClickHouse queries: `reason IN (${BLOCKED_REASONS_SQL})`. */
export const BLOCKED_REASONS_SQL = BLOCKED_REASONS.map((r) => `'${r}'`).join(', ');
/** SQL list of the unknown-outcome reasons. */
export const UNKNOWN_OUTCOME_REASONS_SQL = UNKNOWN_OUTCOME_REASONS.map((r) => `'${r}'`).join(', ');
