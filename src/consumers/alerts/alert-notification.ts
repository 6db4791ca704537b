import type { AlertRule } from './alert-rules.ts';
import type { Transition } from './alert-engine.ts';

/**
 * What a receiver is told, built once when the transition is persisted and stored in the outbox as
 * JSON: delivery (maybe much later, maybe by another instance) never needs the engine's memory.
 */
export type NotificationKind = 'trigger' | 'repeat' | 'resolve' | 'kill_switch';
export type KillSwitchDecision = 'done' | 'dry_run' | 'capped' | 'waiting_grace' | 'already_disabled';

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
  ruleKind: AlertRule['kind'];
  value: number;
  threshold: number;
  numerator: number;
  denominator: number;
  windowMinutes: number;
  /** Event time of the evaluation that produced it (ms). */
  at: number;
  topReasons: { reason: string; count: number }[];
  dashboardUrl: string;
  traceUrl?: string;
  killSwitch?: { decision: KillSwitchDecision; nodeType: string; message: string };
}

export function dedupKeyOf(ruleId: string, scopeKey: string): string {
  return `actionpulse/${ruleId}/${scopeKey}`;
}

export function buildNotification(
  t: Transition,
  kind: NotificationKind,
  links: { dashboardBaseUrl: string },
  killSwitch?: AlertNotification['killSwitch'],
): AlertNotification {
  const o = t.observation;
  const params = new URLSearchParams(t.next.scope);
  params.set('from', String(t.at - t.windowMs));
  params.set('to', String(t.at));
  const base = links.dashboardBaseUrl.replace(/\/$/, '');
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
    dashboardUrl: `${base}/?${params.toString()}`,
    traceUrl: o.lastFailure?.trace_id ? `${base}/traces/${o.lastFailure.trace_id}` : undefined,
    killSwitch,
  };
}

export function formatValue(n: Pick<AlertNotification, 'ruleKind' | 'value'>): string {
  return n.ruleKind === 'ratio' ? `${(n.value * 100).toFixed(1)}%` : String(n.value);
}

export function scopeLabel(scope: Record<string, string>): string {
  const entries = Object.entries(scope);
  return entries.length === 0 ? 'all actions' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

export function summaryOf(n: AlertNotification): string {
  const threshold = n.ruleKind === 'ratio' ? `${(n.threshold * 100).toFixed(1)}%` : String(n.threshold);
  const head =
    n.kind === 'resolve' ? 'RESOLVED' : n.kind === 'kill_switch' ? 'KILL SWITCH' : n.kind === 'repeat' ? 'STILL FIRING' : 'FIRING';
  const counts = n.ruleKind === 'ratio' ? ` (${n.numerator}/${n.denominator})` : '';
  const base = `[${head}] ${n.title} — ${scopeLabel(n.scope)}: ${formatValue(n)}${counts} vs > ${threshold} over ${n.windowMinutes} min`;
  return n.killSwitch ? `${base}. ${n.killSwitch.message}` : base;
}
