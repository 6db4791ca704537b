import type { AlertRule } from './alert-rules.ts';
import type { Transition } from './alert-engine.ts';
import type { Resolution } from './rule-state-machine.ts';
import { notificationLinks, type LinkSettings } from '../clickhouse/dashboard-links.ts';

/**
 * What a receiver is told, built once when the transition is persisted and stored in the outbox as
 * JSON: delivery (maybe much later, maybe by another instance) never needs the engine's memory.
 */
/** `recovery`: the kill switch's automatic re-enable of a switch it had turned off, with the probe results. */
export type NotificationKind = 'trigger' | 'repeat' | 'resolve' | 'kill_switch' | 'recovery';
/** `deferred_global`: an organization's own breach while the action fails across organizations (the action's scope decides). */
export type KillSwitchDecision = 'done' | 'dry_run' | 'capped' | 'waiting_grace' | 'already_disabled' | 'deferred_global';

export interface AlertNotification {
  kind: NotificationKind;
  ruleId: string;
  title: string;
  severity: AlertRule['severity'];
  scope: Record<string, string>;
  scopeKey: string;
  /** Stable per rule and scope (PagerDuty dedup_key): every episode's trigger and resolve share it. */
  dedupKey: string;
  episode: number;
  /**
   * Names the decision told (the webhook's Idempotency-Key): `<dedup key>#<episode>#<decision>`, the decision being
   * `trigger`, `resolve`, `repeat:<n>`, `ks:<decision>:<event time>` or `recovery:<organization or *>:<cycle>`. Set
   * when the outbox row is written, from persisted state only, so a retry or a restart repeats it and no two decisions
   * share it. Absent from rows written before it existed.
   */
  decisionKey?: string;
  ruleKind: AlertRule['kind'];
  value: number;
  threshold: number;
  /** Ratio rules: failed calls and completed calls (executed + failed, blocked calls in neither) in the window. */
  numerator: number;
  denominator: number;
  windowMinutes: number;
  /** Event time of the evaluation that produced it (ms). */
  at: number;
  topReasons: { reason: string; count: number }[];
  dashboardUrl: string;
  traceUrl?: string;
  killSwitch?: {
    decision: KillSwitchDecision;
    nodeType: string;
    message: string;
    /** `global`: the action for everyone; `organization`: the action for `organizations` only. */
    scope?: 'global' | 'organization';
    organizations?: string[];
    /** Failed and completed calls per organization in the window, most failing first. */
    breakdown?: { organization_id: string; failed: number; completed: number; topReasons?: { reason: string; count: number }[] }[];
  };
  /**
   * A trigger of a rule routed by blast radius: where it was paged (`organization`: those organizations' receivers;
   * `global`: the rule's), why, and the window's failures per organization, most failing first.
   */
  blastRadius?: {
    scope: 'global' | 'organization';
    organizations: string[];
    breakdown: { organization_id: string; failed: number; completed: number; topReasons?: { reason: string; count: number }[] }[];
    message: string;
  };
  /** An automatic re-enable: which switch, and the probes that showed the action works again. */
  recovery?: {
    nodeType: string;
    scope: 'global' | 'organization';
    organizationId: string | null;
    message: string;
    probes: { at: number; ok: boolean; organizationId: string; reason?: string }[];
    cycle: number;
    failedRounds: number;
    disabledAt: number;
  };
  /** A resolve: why it closed. Only `healthy` reads RESOLVED. */
  resolution?: Resolution;
  /** Calls in the window and the rule's minimum: below it the value is not a verdict. */
  volume?: number;
  minVolume?: number;
  /** Blocked calls in the window (left out of the rate) and node_types left out because they are disabled. */
  blocked?: number;
  excluded?: string[];
  /** A breach found through late events. */
  late?: { breachBeganAt: number; detectedAt: number; lateByMs: number };
}

export function dedupKeyOf(ruleId: string, scopeKey: string): string {
  return `actionpulse/${ruleId}/${scopeKey}`;
}

export function buildNotification(
  t: Transition,
  kind: NotificationKind,
  links: LinkSettings,
  killSwitch?: AlertNotification['killSwitch'],
  blastRadius?: AlertNotification['blastRadius'],
): AlertNotification {
  const o = t.observation;
  // A resolve links the whole episode: from the window before it fired to the resolve.
  const sinceMs = kind === 'resolve' ? (t.prev.firingSince ?? undefined) : undefined;
  const { dashboardUrl, traceUrl } = notificationLinks(links, { scope: t.next.scope, atMs: t.at, windowMs: t.windowMs, sinceMs, traceId: o.lastFailure?.trace_id });
  return {
    kind,
    ruleId: t.rule.id,
    title: t.rule.title,
    severity: t.rule.severity,
    scope: t.next.scope,
    scopeKey: t.next.scopeKey,
    dedupKey: dedupKeyOf(t.rule.id, t.next.scopeKey),
    episode: t.next.episode,
    ruleKind: t.rule.kind,
    value: o.value,
    threshold: t.rule.threshold,
    numerator: o.numerator,
    denominator: o.denominator,
    windowMinutes: t.rule.windowMinutes,
    at: t.at,
    topReasons: o.topReasons,
    dashboardUrl,
    traceUrl,
    killSwitch,
    blastRadius,
    resolution: kind === 'resolve' ? (t.resolution ?? 'healthy') : undefined,
    volume: o.volume,
    minVolume: t.rule.minVolume,
    blocked: o.blocked,
    excluded: o.excluded && o.excluded.length > 0 ? o.excluded : undefined,
    late: kind === 'trigger' ? t.late : undefined,
  };
}

/** A ratio rule's counts as every notification words them: its rate is a share of completed calls. */
export function ratioCounts(n: Pick<AlertNotification, 'numerator' | 'denominator'>): string {
  return `${n.numerator} failed / ${n.denominator} completed calls`;
}

export function formatValue(n: Pick<AlertNotification, 'ruleKind' | 'value'>): string {
  return n.ruleKind === 'ratio' ? `${(n.value * 100).toFixed(1)}%` : String(n.value);
}

/** The words of the link to the page that explains the alert (notificationLinks picks the page by the scope). */
export function pageLabel(scope: Record<string, string>): string {
  return scope.node_type ? `Action page: ${scope.node_type}` : scope.organization_id ? `Organization page: ${scope.organization_id}` : 'Dashboard';
}

export function scopeLabel(scope: Record<string, string>): string {
  const entries = Object.entries(scope);
  return entries.length === 0 ? 'all actions' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

/** Header word: RESOLVED only for an alert that closed healthy; a close for another reason says which. */
export function headOf(n: Pick<AlertNotification, 'kind' | 'resolution'>): string {
  if (n.kind === 'resolve') return n.resolution === 'disabled' ? 'CLOSED: DISABLED' : n.resolution === 'no_traffic' ? 'CLOSED: NO TRAFFIC' : 'RESOLVED';
  if (n.kind === 'recovery') return 'RE-ENABLED';
  return n.kind === 'kill_switch' ? 'KILL SWITCH' : n.kind === 'repeat' ? 'STILL FIRING' : 'FIRING';
}

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 3600 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function summaryOf(n: AlertNotification): string {
  if (n.kind === 'recovery' && n.recovery) return `[${headOf(n)}] ${n.title} — ${scopeLabel(n.scope)}: ${n.recovery.message}`;
  const threshold = n.ruleKind === 'ratio' ? `${(n.threshold * 100).toFixed(1)}%` : String(n.threshold);
  const counts = n.ruleKind === 'ratio' ? ` (${ratioCounts(n)})` : '';
  let text = `[${headOf(n)}] ${n.title} — ${scopeLabel(n.scope)}: ${formatValue(n)}${counts} vs > ${threshold} over ${n.windowMinutes} min`;
  if (n.kind === 'resolve' && n.resolution === 'disabled') text += '. Disabled by the kill switch: its calls are refused, so there is nothing left to measure';
  else if (n.kind === 'resolve' && n.resolution === 'no_traffic') text += `. No traffic: ${n.volume ?? 0} calls in the window (minimum ${n.minVolume}); closed without a verdict`;
  else if (n.kind !== 'kill_switch' && n.kind !== 'resolve' && n.volume !== undefined && n.minVolume !== undefined && n.ruleKind === 'ratio' && n.volume < n.minVolume) {
    text += `. Insufficient traffic: ${n.volume} calls in the window (minimum ${n.minVolume}); still firing`;
  }
  if (n.excluded) text += `. Leaves out ${n.excluded.join(', ')} (disabled by the kill switch)`;
  if (n.blocked) text += `. ${n.blocked} blocked calls left out of the rate`;
  if (n.late) text += `. Breach began ${new Date(n.late.breachBeganAt).toISOString()}, detected ${minutes(n.late.lateByMs)} late (late events)`;
  if (n.blastRadius) text += `. ${n.blastRadius.message}`;
  return n.killSwitch ? `${text}. ${n.killSwitch.message}` : text;
}
