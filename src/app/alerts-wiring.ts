import type { Router } from 'express';
import { ConfigError, type Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { SqlDb } from '../platform/registry-db.ts';
import type { KafkaPort } from '../platform/kafka/kafka-port.ts';
import { topicReplication } from '../platform/kafka/topics.ts';
import { AlertEvaluator } from '../consumers/alerts/alert-evaluator.ts';
import { loadAlertRules } from '../consumers/alerts/rate-thresholds.ts';
import { createAlertsAdminRouter } from '../consumers/alerts/admin-router.ts';
import { summaryOf, type AlertNotification } from '../consumers/alerts/alert-notification.ts';
import type { DeliveryResult, Notifier } from '../consumers/alerts/notifiers/notifier.ts';
import { SlackNotifier } from '../consumers/alerts/notifiers/slack-notifier.ts';
import { PagerDutyNotifier } from '../consumers/alerts/notifiers/pagerduty-notifier.ts';
import { WebhookNotifier } from '../consumers/alerts/notifiers/webhook-notifier.ts';
import { serviceDashboardUrl, setTraceUrlTemplate } from '../consumers/clickhouse/dashboard-links.ts';

/** The demo compresses a day into three minutes so a newcomer sees every rule fire. */
export const DEMO_TIME_SCALE = 480;

export function effectiveTimeScale(config: Config, demo: boolean): number {
  return config.alerts.timeScale ?? (demo ? DEMO_TIME_SCALE : 1);
}

/**
 * Where pages go when no Slack webhook is configured: the terminal and the log, one line per notification,
 * so the local run shows exactly what on-call would have received.
 */
export class TerminalNotifier implements Notifier {
  readonly minIntervalMs = 0;
  readonly delivered: AlertNotification[] = [];
  constructor(
    readonly name: string,
    private readonly logger: Logger,
    private readonly print: (line: string) => void,
  ) {}

  async send(n: AlertNotification): Promise<DeliveryResult> {
    this.delivered.push(n);
    if (this.delivered.length > 1000) this.delivered.shift();
    this.logger.warn({ notifier: this.name, kind: n.kind, rule: n.ruleId, scope: n.scope, value: n.value }, 'alert notification');
    this.print(`[${this.name}] ${summaryOf(n)}`);
    return { ok: true };
  }
}

export interface AlertsHandle {
  evaluator: AlertEvaluator;
  router: Router;
  terminal: TerminalNotifier[];
  timeScale: number;
  stop(): Promise<void>;
}

export async function startAlerts(
  config: Config,
  deps: { kafka: KafkaPort; db: SqlDb; logger: Logger; adminToken: string; demo: boolean; print: (line: string) => void },
): Promise<AlertsHandle> {
  const logger = deps.logger.child({ component: 'alerts' });
  const a = config.alerts;
  const terminal: TerminalNotifier[] = [];
  const slack = (name: string, url: string | undefined): Notifier => {
    if (url) return new SlackNotifier({ name, webhookUrl: url });
    const t = new TerminalNotifier(name, logger, deps.print);
    terminal.push(t);
    return t;
  };
  const notifiers: Record<string, Notifier> = {
    'slack-bot-oncall': slack('slack-bot-oncall', a.slackWebhookUrl),
    'slack-crm-oncall': slack('slack-crm-oncall', a.slackCrmWebhookUrl ?? a.slackWebhookUrl),
  };
  const extra: string[] = [];
  if (a.pagerdutyRoutingKey) {
    notifiers.pagerduty = new PagerDutyNotifier({ name: 'pagerduty', baseUrl: a.pagerdutyUrl, routingKey: a.pagerdutyRoutingKey });
    extra.push('pagerduty');
  }
  if (a.webhookUrl) {
    if (!a.webhookSecret) throw new ConfigError([{ setting: 'ALERT_WEBHOOK_SECRET (alerts.webhookSecret)', message: 'required with ALERT_WEBHOOK_URL', example: 'ALERT_WEBHOOK_SECRET=<a shared signing secret>' }]);
    notifiers.webhook = new WebhookNotifier({ name: 'webhook', url: a.webhookUrl, secret: a.webhookSecret });
    extra.push('webhook');
  }
  // bot-oncall-slack: the 1x-over-3-days SLO burn notifies Slack only, never pages.
  const routes = { 'bot-oncall': ['slack-bot-oncall', ...extra], 'crm-oncall': ['slack-crm-oncall', ...extra], 'bot-oncall-slack': ['slack-bot-oncall'] };
  const rules = loadAlertRules(a);
  // Notification links: the dashboard at this service's own address (or PUBLIC_DASHBOARD_URL), a trace UI when set.
  setTraceUrlTemplate(config.telemetry.traceUrlTemplate);
  const timeScale = effectiveTimeScale(config, deps.demo);
  const evaluator = new AlertEvaluator({
    kafka: deps.kafka,
    db: deps.db,
    rules,
    eventsTopic: config.kafka.eventsTopic,
    groupId: a.consumerGroup,
    controlTopicReplication: topicReplication(config.kafka),
    timeScale,
    notifiers,
    routes,
    dashboardBaseUrl: serviceDashboardUrl(config.http),
    killSwitch: { dryRun: a.killSwitchDryRun, maxPer24h: a.killSwitchMaxPer24h },
    latenessAllowanceMinutes: a.latenessAllowanceMinutes,
    futureAllowanceMs: config.events.futureAllowanceSeconds * 1000,
    logger,
  });
  await evaluator.start();
  const router = createAlertsAdminRouter({ db: deps.db, adminToken: deps.adminToken, logger });
  return { evaluator, router, terminal, timeScale, stop: () => evaluator.stop() };
}
