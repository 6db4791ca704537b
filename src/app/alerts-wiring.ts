import type { Router } from 'express';
import { ConfigError, type Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import type { SqlDb } from '../platform/registry-db.ts';
import type { KafkaPort } from '../platform/kafka/kafka-port.ts';
import { topicReplication } from '../platform/kafka/topics.ts';
import { AlertEvaluator } from '../consumers/alerts/alert-evaluator.ts';
import { loadAlertRules } from '../consumers/alerts/rate-thresholds.ts';
import { checkReceivers, type RulesFile } from '../consumers/alerts/alert-rules.ts';
import { EXAMPLES } from '../platform/config-examples.ts';
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

/** The demo's organizations each page a channel of their own (the rules file's routes win). */
export type DemoRouting = false | { organizationRoutes: Record<string, string[]> };

/**
 * The rules, the notifiers and which channels serve each receiver: bot-oncall, crm-oncall, bot-oncall-slack and
 * every receiver of SLACK_RECEIVER_WEBHOOKS. Fails when the rules name a receiver none of these serves.
 * `slack(name, url)` makes a Slack channel (the terminal when there is no URL).
 */
export function alertRouting(
  config: Config,
  demo: DemoRouting,
  slack: (name: string, url: string | undefined) => Notifier,
): { notifiers: Record<string, Notifier>; routes: Record<string, string[]>; rules: RulesFile } {
  const a = config.alerts;
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
  const routes: Record<string, string[]> = { 'bot-oncall': ['slack-bot-oncall', ...extra], 'crm-oncall': ['slack-crm-oncall', ...extra], 'bot-oncall-slack': ['slack-bot-oncall'] };
  const builtIn = Object.keys(routes).filter((name) => name in a.slackReceiverWebhooks);
  if (builtIn.length > 0) {
    throw new ConfigError(
      builtIn.map((name) => ({ setting: `SLACK_RECEIVER_WEBHOOKS (alerts.slackReceiverWebhooks.${name})`, message: `${name} is a built-in receiver (its Slack webhook is SLACK_WEBHOOK_URL or SLACK_CRM_WEBHOOK_URL)`, example: `SLACK_RECEIVER_WEBHOOKS=${EXAMPLES.SLACK_RECEIVER_WEBHOOKS}` })),
    );
  }
  let rules = loadAlertRules(a);
  if (demo) rules = { ...rules, blastRadius: { ...rules.blastRadius, organizationRoutes: { ...demo.organizationRoutes, ...rules.blastRadius.organizationRoutes } } };
  // A receiver of SLACK_RECEIVER_WEBHOOKS is that Slack channel alone (an organization's customer-success channel):
  // PagerDuty's routing key is global on-call's. The demo's channels without a URL go where crm-oncall goes.
  const declared = new Set([...Object.keys(a.slackReceiverWebhooks), ...(demo ? Object.values(demo.organizationRoutes).flat() : [])]);
  for (const name of declared) {
    notifiers[`slack-${name}`] = slack(`slack-${name}`, a.slackReceiverWebhooks[name] ?? a.slackCrmWebhookUrl ?? a.slackWebhookUrl);
    routes[name] = [`slack-${name}`];
  }
  checkReceivers(rules, Object.keys(routes), `ALERT_RULES_FILE (${a.rulesFile ?? 'the shipped default-rules.json'})`);
  return { notifiers, routes, rules };
}

export async function startAlerts(
  config: Config,
  deps: {
    kafka: KafkaPort;
    db: SqlDb;
    logger: Logger;
    adminToken: string;
    demo: DemoRouting;
    print: (line: string) => void;
  },
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
  const { notifiers, routes, rules } = alertRouting(config, deps.demo, slack);
  // Notification links: the dashboard at this service's own address (or PUBLIC_DASHBOARD_URL), a trace UI when set.
  setTraceUrlTemplate(config.telemetry.traceUrlTemplate);
  const timeScale = effectiveTimeScale(config, deps.demo !== false);
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
