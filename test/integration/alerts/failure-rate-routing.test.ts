import { describe, expect, it } from 'vitest';
import { loadRulesFile, parseRules, type RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { waitFor } from '../../helpers/kafka.ts';
import { MIN, perMinute, traffic } from '../../unit/alerts/engine-driver.ts';
import { gatedAlertsSuite, outboxDrained, restartableService, slackTexts } from './alerts-harness.ts';

/**
 * The failure-rate page routed by blast radius (`routeByBlastRadius` on failure-rate-1h) through the real broker,
 * PostgreSQL and the local Slack: an action failing because of one organization pages that organization's channel
 * (org-a → cs-a), not global on-call; failures spread over most organizations page global on-call (bot-oncall → #bot).
 * A restart of the evaluator after the trigger pages nothing twice, and the episode's repeats and resolve go where
 * its trigger went.
 */
describe('failure-rate pages routed by blast radius', () => {
  const suite = gatedAlertsSuite();
  const { running, slack } = suite;
  const DEAL = 'qontak_crm_deal_create';
  const ORGS = ['org-a', 'org-b', 'org-c', 'org-d', 'org-e', 'org-f', 'org-g'];

  /** The shipped failure-rate rule alone, shortened: a 10-minute window, 2 minutes pending, 10 calls, repeats every 3 minutes. */
  function rules(): RulesFile {
    const base = loadRulesFile();
    const rate = base.rules.find((r) => r.id === 'failure-rate-1h')!;
    return parseRules({
      ...base,
      blastRadius: { ...base.blastRadius, organizationRoutes: { 'org-a': ['cs-a'] } },
      rules: [{ ...rate, windowMinutes: 10, pendingMinutes: 2, minVolume: 10, recoveryHoldMinutes: 3, repeatMinutes: 3 }],
    });
  }

  async function service() {
    const { db } = suite;
    await db.query('DELETE FROM alert_state');
    await db.query('DELETE FROM alert_outbox');
    await db.query(`UPDATE node_registries SET enabled = true`);
    return restartableService(suite, rules(), { partitions: 2, running, slackReceivers: ['cs-a'] });
  }

  // The action's scope's messages (the overall scope, "all actions", is routed the same way; checked below).
  const pages = (channel: string, head: string) => slackTexts(slack, channel).filter((t) => t.startsWith(head) && t.includes(`node_type=${DEAL}:`));
  const triggered = (db: typeof suite.db) => async () =>
    (await db.query(`SELECT 1 FROM alert_outbox WHERE kind = 'trigger' AND scope_key = $1`, [`node_type=${DEAL}`])).length > 0;
  const healthy = (m: number) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 10, 0, DEAL, org));

  it('one organization failing 100% while six are healthy: the page, its repeats and its resolve go to that organization\'s channel only, not #bot; a restart after the trigger pages nothing twice', { timeout: 300_000 }, async () => {
    slack.messages.length = 0;
    suite.pd.events.length = 0;
    const { db } = suite;
    const svc = await service();
    await svc.up();
    const s = svc.start;
    // org-a: 10 calls a minute, all failing; the six others 10 a minute, all fine (the action: 14.3 % failing)
    const minute = (m: number) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 10, org === 'org-a' ? 10 : 0, DEAL, org));
    await svc.feed(perMinute(s, 8, minute), s + 10 * MIN);
    await waitFor(triggered(db), { timeoutMs: 60_000, what: 'the trigger of the action\'s scope' });

    await svc.restart();
    await svc.feed(perMinute(s + 8 * MIN, 22, healthy), s + 32 * MIN);
    await outboxDrained(db);

    const firing = pages('cs-a', '[FIRING]');
    expect(firing).toHaveLength(1);
    expect(firing[0]).toContain('Failures concentrated in organization org-a');
    expect(firing[0]).toMatch(/By organization \(failed\/completed\): org-a \d+\/\d+ \(100\.0%: crm_\w+ \d+\)/);
    expect(JSON.stringify(slack.for('cs-a').map((m) => m.body.blocks))).toContain('Failures by organization');
    expect(pages('cs-a', '[RESOLVED]')).toHaveLength(1);
    const outbox = await db.query<{ kind: string; receiver: string }>(`SELECT DISTINCT kind, receiver FROM alert_outbox WHERE scope_key = $1 ORDER BY kind, receiver`, [`node_type=${DEAL}`]);
    expect(outbox.map((r) => r.receiver).every((r) => r === 'cs-a')).toBe(true);
    expect(outbox.map((r) => r.kind)).toEqual(['repeat', 'resolve', 'trigger']);
    expect(pages('cs-a', '[STILL FIRING]').length).toBeGreaterThan(0);
    for (const head of ['[FIRING]', '[STILL FIRING]', '[RESOLVED]']) {
      expect(pages('bot', head)).toEqual([]);
      expect(pages('crm', head)).toEqual([]);
    }
    expect(suite.pd.events.filter((e) => e.dedup_key === `actionpulse/failure-rate-1h/node_type=${DEAL}`)).toEqual([]);
    // The overall scope fires too (the same 14.3 %) and is routed the same way: global on-call hears nothing at all.
    expect(slackTexts(slack, 'cs-a').filter((t) => t.startsWith('[FIRING]') && !t.includes(`node_type=${DEAL}:`))).toHaveLength(1);
    expect(slackTexts(slack, 'bot')).toEqual([]);
    expect(suite.pd.events).toEqual([]);
  });

  it('failures spread over most organizations: the page and its resolve go to global on-call (#bot), no organization\'s channel; a restart after the trigger pages nothing twice', { timeout: 300_000 }, async () => {
    slack.messages.length = 0;
    const { db } = suite;
    const svc = await service();
    await svc.up();
    const s = svc.start;
    // five of seven organizations failing half their calls: no two of them explain the breach
    const minute = (m: number) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 10, k < 5 ? 5 : 0, DEAL, org));
    await svc.feed(perMinute(s, 8, minute), s + 10 * MIN);
    await waitFor(triggered(db), { timeoutMs: 60_000, what: 'the trigger of the action\'s scope' });

    await svc.restart();
    await svc.feed(perMinute(s + 8 * MIN, 22, healthy), s + 32 * MIN);
    await outboxDrained(db);

    const firing = pages('bot', '[FIRING]');
    expect(firing).toHaveLength(1);
    expect(firing[0]).toContain('global on-call paged');
    expect(pages('bot', '[RESOLVED]')).toHaveLength(1);
    for (const head of ['[FIRING]', '[STILL FIRING]', '[RESOLVED]']) {
      expect(pages('cs-a', head)).toEqual([]);
      expect(pages('crm', head)).toEqual([]);
    }
  });
});
