import { formatValue, headOf, pageLabel, ratioCounts, scopeLabel, summaryOf, type AlertNotification } from '../alert-notification.ts';
import { deliveryOf, postJson, type DeliveryResult, type Notifier } from './notifier.ts';

/**
 * Slack incoming webhook with Block Kit. Slack allows about one message per second per webhook and
 * answers 429 with Retry-After beyond it: the pacing is declared here, enforced by the dispatcher.
 */
export interface SlackNotifierOptions {
  name: string;
  webhookUrl: string;
  timeoutMs?: number;
  minIntervalMs?: number;
}

/** An automatic re-enable: the switch, the probes that showed the action works, when it was disabled. */
function recoveryBlocks(n: AlertNotification, r: NonNullable<AlertNotification['recovery']>): { text: string; blocks: unknown[] } {
  const probes = r.probes.map((p) => `• ${p.ok ? 'ok' : `failed (\`${p.reason ?? 'failed'}\`)`} ${new Date(p.at).toISOString()} \`${p.organizationId}\``);
  return {
    text: summaryOf(n),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `Re-enabled: ${n.title}`.slice(0, 150) } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `:white_check_mark: ${summaryOf(n)}` },
        fields: [
          { type: 'mrkdwn', text: `*Rule*\n${n.ruleId}` },
          { type: 'mrkdwn', text: `*Switch*\n${r.scope === 'global' ? `${r.nodeType} (global)` : `${r.nodeType} for ${r.organizationId}`}` },
          { type: 'mrkdwn', text: `*Disabled*\n${new Date(r.disabledAt).toISOString()}` },
          { type: 'mrkdwn', text: `*Re-enabled*\n${new Date(n.at).toISOString()}` },
          { type: 'mrkdwn', text: `*Cycle*\n${r.cycle} (${r.failedRounds} failed probe rounds)` },
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: `*Probes*\n${probes.join('\n')}` } },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: pageLabel(n.scope) }, url: n.dashboardUrl }] },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `dedup \`${n.dedupKey}\` · episode ${n.episode}` }] },
    ],
  };
}

/** The window's failures per organization (a kill-switch decision's or a routed page's), most failing first. */
function breakdownBlock(breakdown: NonNullable<AlertNotification['blastRadius']>['breakdown']): unknown {
  const reasons = (b: (typeof breakdown)[number]) => (b.topReasons?.length ? ` (${b.topReasons.map((r) => `\`${r.reason}\` × ${r.count}`).join(', ')})` : '');
  const rows = breakdown.map((b) => `• \`${b.organization_id}\` ${b.failed} failed / ${b.completed} completed${reasons(b)}`);
  return { type: 'section', text: { type: 'mrkdwn', text: `*Failures by organization*\n${rows.join('\n')}` } };
}

export function slackBlocks(n: AlertNotification): { text: string; blocks: unknown[] } {
  if (n.recovery) return recoveryBlocks(n, n.recovery);
  const emoji = n.kind === 'resolve' ? ':white_check_mark:' : n.kind === 'kill_switch' ? ':no_entry:' : ':rotating_light:';
  const threshold = n.ruleKind === 'ratio' ? `${(n.threshold * 100).toFixed(1)}%` : String(n.threshold);
  const fields = [
    { type: 'mrkdwn', text: `*Rule*\n${n.ruleId}` },
    { type: 'mrkdwn', text: `*Scope*\n${scopeLabel(n.scope)}` },
    { type: 'mrkdwn', text: `*Value*\n${formatValue(n)} (threshold > ${threshold})` },
    {
      type: 'mrkdwn',
      text: n.ruleKind === 'ratio' ? `*Counts*\n${ratioCounts(n)}` : `*Count*\n${n.numerator}`,
    },
    { type: 'mrkdwn', text: `*Window*\n${n.windowMinutes} min ending ${new Date(n.at).toISOString()}` },
    { type: 'mrkdwn', text: `*Severity*\n${n.severity}` },
  ];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `${headOf(n).charAt(0)}${headOf(n).slice(1).toLowerCase()}: ${n.title}`.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: `${emoji} ${summaryOf(n)}` }, fields },
  ];
  if (n.topReasons.length > 0) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*Top failure reasons*\n${n.topReasons.map((r) => `• \`${r.reason}\` × ${r.count}`).join('\n')}` },
    });
  }
  if (n.killSwitch) {
    const scope = n.killSwitch.scope === 'organization' ? `organization: ${(n.killSwitch.organizations ?? []).join(', ')}` : 'global';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Kill switch (${n.killSwitch.decision}, scope ${scope})*\n${n.killSwitch.message}` } });
    if (n.killSwitch.breakdown && n.killSwitch.breakdown.length > 0) blocks.push(breakdownBlock(n.killSwitch.breakdown));
  }
  if (n.blastRadius) {
    const scope = n.blastRadius.scope === 'organization' ? `organization: ${n.blastRadius.organizations.join(', ')}` : 'global';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Blast radius (scope ${scope})*\n${n.blastRadius.message}` } });
    if (n.blastRadius.breakdown.length > 0) blocks.push(breakdownBlock(n.blastRadius.breakdown));
  }
  const buttons: unknown[] = [{ type: 'button', text: { type: 'plain_text', text: pageLabel(n.scope) }, url: n.dashboardUrl }];
  if (n.traceUrl) buttons.push({ type: 'button', text: { type: 'plain_text', text: 'Trace of a recent failure' }, url: n.traceUrl });
  blocks.push({ type: 'actions', elements: buttons });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `dedup \`${n.dedupKey}\` · episode ${n.episode}` }] });
  return { text: summaryOf(n), blocks };
}

export class SlackNotifier implements Notifier {
  readonly name: string;
  readonly minIntervalMs: number;

  constructor(private readonly o: SlackNotifierOptions) {
    this.name = o.name;
    this.minIntervalMs = o.minIntervalMs ?? 1000;
  }

  async send(n: AlertNotification, signal: AbortSignal): Promise<DeliveryResult> {
    // Slack answers 400/403/404 with a reason word (invalid_payload, no_service): a config error, not transient.
    return deliveryOf(await postJson(this.o.webhookUrl, slackBlocks(n), {}, signal, this.o.timeoutMs ?? 10_000));
  }
}
