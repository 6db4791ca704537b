import { loadConfig } from '../../platform/config.ts';
import type { WeeklyReview } from '../../consumers/alerts/weekly-review.ts';
import { AdminClient } from '../admin-client.ts';
import { parse, UsageError } from '../args.ts';

export const help = `actionpulse report --week [--week-of YYYY-MM-DD] [--slack] [--json]

  The weekly review of spec §11.1 (success rate, failure-reason mix, per-node_type volume; flags for a failed
  rate up > 10% week over week and rising token-refresh failures) and the week's disables and re-enables, global
  or for one organization, automatic or by hand, as Markdown. --slack posts the digest to
  SLACK_WEBHOOK_URL (or prints its Block Kit JSON when none is configured). The week runs Monday–Sunday UTC.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { week: { type: 'boolean', default: false }, 'week-of': { type: 'string' }, slack: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } });
  if (!values.week) throw new UsageError(help);
  const weekOf = values['week-of'];
  if (weekOf && !/^\d{4}-\d{2}-\d{2}$/.test(weekOf)) throw new UsageError('--week-of takes a date, YYYY-MM-DD');
  const config = loadConfig();
  const review = await AdminClient.fromConfig(config).request<WeeklyReview>('GET', `/v1/reports/weekly${weekOf ? `?week_of=${weekOf}` : ''}`);
  if (values.json) {
    console.log(JSON.stringify(review, null, 2));
  } else {
    console.log(review.markdown);
  }
  if (values.slack) {
    const url = config.alerts.slackWebhookUrl;
    if (!url) {
      console.log(JSON.stringify(review.slack, null, 2));
      console.error('(no SLACK_WEBHOOK_URL: printed the digest instead of posting it)');
      return 0;
    }
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review.slack), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) {
      console.error(`Slack answered ${res.status}: ${await res.text()}`);
      return 1;
    }
    console.error('digest posted to Slack');
  }
  return 0;
}
