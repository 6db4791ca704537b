import { pageLabel, summaryOf, type AlertNotification } from '../alert-notification.ts';
import { deliveryOf, postJson, type DeliveryResult, type Notifier } from './notifier.ts';

/**
 * PagerDuty Events API v2: trigger on firing (and repeat), resolve on recovery, with the rule+scope
 * dedup_key so PagerDuty folds every message of one alert into one incident.
 */
export interface PagerDutyNotifierOptions {
  name: string;
  /** Base URL, e.g. https://events.pagerduty.com */
  baseUrl: string;
  routingKey: string;
  timeoutMs?: number;
}

const SEVERITY: Record<AlertNotification['severity'], 'info' | 'warning' | 'error' | 'critical'> = {
  info: 'info',
  warning: 'warning',
  error: 'error',
  critical: 'critical',
};

export function pagerDutyEvent(n: AlertNotification, routingKey: string): Record<string, unknown> {
  const action = n.kind === 'resolve' ? 'resolve' : 'trigger';
  const event: Record<string, unknown> = { routing_key: routingKey, event_action: action, dedup_key: n.dedupKey };
  if (action === 'trigger') {
    event.payload = {
      summary: summaryOf(n).slice(0, 1024),
      source: 'actionpulse-alerts',
      severity: SEVERITY[n.severity],
      timestamp: new Date(n.at).toISOString(),
      component: n.scope.node_type ?? n.scope.organization_id ?? 'all',
      group: n.ruleId,
      class: n.kind,
      custom_details: {
        value: n.value,
        threshold: n.threshold,
        numerator: n.numerator,
        denominator: n.denominator,
        window_minutes: n.windowMinutes,
        top_reasons: n.topReasons,
        kill_switch: n.killSwitch,
        blast_radius: n.blastRadius,
      },
    };
    event.links = [{ href: n.dashboardUrl, text: pageLabel(n.scope) }, ...(n.traceUrl ? [{ href: n.traceUrl, text: 'Trace of a recent failure' }] : [])];
  }
  return event;
}

/**
 * An automatic re-enable is not an incident: it goes to PagerDuty as a change event (`POST /v2/change/enqueue`), shown
 * on the service's timeline beside the incident of the disable, which its alert's own resolve closes.
 */
export function pagerDutyChangeEvent(n: AlertNotification, routingKey: string): Record<string, unknown> {
  return {
    routing_key: routingKey,
    payload: {
      summary: summaryOf(n).slice(0, 1024),
      source: 'actionpulse-alerts',
      timestamp: new Date(n.at).toISOString(),
      custom_details: { dedup_key: n.dedupKey, episode: n.episode, recovery: n.recovery },
    },
    links: [{ href: n.dashboardUrl, text: pageLabel(n.scope) }],
  };
}

export class PagerDutyNotifier implements Notifier {
  readonly name: string;
  readonly minIntervalMs = 0;

  constructor(private readonly o: PagerDutyNotifierOptions) {
    this.name = o.name;
  }

  async send(n: AlertNotification, signal: AbortSignal): Promise<DeliveryResult> {
    const base = this.o.baseUrl.replace(/\/$/, '');
    if (n.kind === 'recovery') return deliveryOf(await postJson(`${base}/v2/change/enqueue`, pagerDutyChangeEvent(n, this.o.routingKey), {}, signal, this.o.timeoutMs ?? 10_000));
    return deliveryOf(await postJson(`${base}/v2/enqueue`, pagerDutyEvent(n, this.o.routingKey), {}, signal, this.o.timeoutMs ?? 10_000));
  }
}
