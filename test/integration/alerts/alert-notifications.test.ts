import { describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { freshTopics, waitFor } from '../../helpers/kafka.ts';
import { MIN, perMinute, refreshFailed, traffic } from '../../unit/alerts/engine-driver.ts';
import { CLOCK_BEHIND_EVENTS, alertsSuite, channels, evaluator, produce, slackTexts, outboxDrained } from './alerts-harness.ts';
import { setTraceUrlTemplate } from '../../../src/consumers/clickhouse/dashboard-links.ts';

/**
 * Real broker, real PostgreSQL, fake Slack and PagerDuty: a node_type crosses rule 1, then recovers;
 * one organization's token refreshes fail 6 times in 15 minutes. Time is the events' own timestamps.
 */
describe('alert evaluator end to end: failure rate and token refresh rules', () => {
  const suite = alertsSuite();
  const { slack, pd } = suite;

  it('pages once per transition, resolves once, and pages two receivers for the organization', { timeout: 240_000 }, async () => {
    const { kafka, db } = suite;
    setTraceUrlTemplate('http://trace.test/trace/{trace_id}');
    const { events: topic } = await freshTopics(kafka, 3);
    const start = Math.floor((Date.now() - 5 * 3600_000) / MIN) * MIN;
    let now = start;
    const ev = evaluator({ kafka, db, rules: loadRulesFile(), eventsTopic: topic, clock: () => now, ...CLOCK_BEHIND_EVENTS, ...channels({ slack, pd }) });
    await ev.start();
    try {
      await waitFor(() => ev.isLeader, { timeoutMs: 60_000, what: 'leadership' });
      await ev.rebuiltAndLeading();
      // 30 minutes at 33% failures for deal_create, then 150 healthy minutes; org-x fails 6 refreshes in minutes 10-15.
      const events = [
        ...perMinute(start, 30, (m) => traffic(m, 100, 50)),
        ...perMinute(start + 30 * MIN, 150, (m) => traffic(m, 100, 0)),
        ...[10, 11, 12, 13, 14, 15].map((i) => refreshFailed(start + i * MIN + 500, 'org-x')),
        ...[10, 11, 12].map((i) => refreshFailed(start + i * MIN + 700, 'org-y')),
      ].sort((a, b) => a.timestamp - b.timestamp);
      await produce(kafka, topic, events);
      // The clock moves on only once the events are in: a clock ahead of them would make them late.
      await waitFor(() => ev.stats.events >= events.length, { timeoutMs: 60_000, what: 'events consumed' });
      now = start + 185 * MIN;

      const DEAL = 'node_type=qontak_crm_deal_create';
      await waitFor(() => slackTexts(slack, 'bot').filter((t) => t.startsWith('[RESOLVED]')).length >= 3, { timeoutMs: 90_000, what: 'resolved messages' });
      await outboxDrained(db);
      const bot = slackTexts(slack, 'bot');
      const rule1 = (prefix: string, scope: string) => bot.filter((t) => t.startsWith(prefix) && t.includes('failure rate') && t.includes(scope));
      expect(rule1('[FIRING]', 'node_type=qontak_crm_deal_create')).toHaveLength(1);
      expect(rule1('[RESOLVED]', 'node_type=qontak_crm_deal_create')).toHaveLength(1);
      expect(rule1('[FIRING]', 'all actions')).toHaveLength(1);
      expect(rule1('[RESOLVED]', 'all actions')).toHaveLength(1);
      // the Block Kit message carries value, counts, top reasons and the two links
      const firing = slack.for('bot').find((m) => m.body.text?.startsWith('[FIRING]') && m.body.text.includes(DEAL))!;
      const json = JSON.stringify(firing.body.blocks);
      expect(json).toContain('failed /');
      expect(json).toContain('crm_server_error');
      // the link opens the page of the action that fired, with the episode's window
      expect(json).toContain('http://dash.test/action.html?node_type=qontak_crm_deal_create');
      expect(json).toContain(`http://trace.test/trace/${'f'.repeat(32)}`);

      // rule 2: org-x (6 failures) pages both receivers, org-y (3) does not
      const crm = slackTexts(slack, 'crm');
      expect(crm.filter((t) => t.startsWith('[FIRING]') && t.includes('organization_id=org-x'))).toHaveLength(1);
      expect(bot.filter((t) => t.startsWith('[FIRING]') && t.includes('organization_id=org-x'))).toHaveLength(1);
      expect([...crm, ...bot].some((t) => t.includes('org-y'))).toBe(false);

      // PagerDuty: one incident per rule+scope, opened once and resolved
      await waitFor(() => [...pd.incidents.values()].filter((i) => i.status === 'resolved').length >= 3, { timeoutMs: 30_000, what: 'PD resolves' });
      const dealIncident = pd.incidents.get('actionpulse/failure-rate-1h/node_type=qontak_crm_deal_create');
      expect(dealIncident).toEqual({ status: 'resolved', triggers: 1 });
      expect(pd.events.filter((e) => e.dedup_key === 'actionpulse/failure-rate-1h/node_type=qontak_crm_deal_create').map((e) => e.event_action)).toEqual(['trigger', 'resolve']);

      // Slack was paced: the fake never had to refuse a message for going faster than 1/s
      expect(slack.rejected).toEqual([]);
      const outbox = await db.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM alert_outbox GROUP BY status`);
      expect(outbox.map((r) => r.status)).toEqual(['sent']);
    } finally {
      await ev.stop();
    }
  });

  it('retries a delivery through 500 and 429 Retry-After without losing or duplicating it', { timeout: 180_000 }, async () => {
    const { kafka, db } = suite;
    const { events: topic } = await freshTopics(kafka, 1);
    const before = slack.for('bot').length;
    slack.script.push(500, 429);
    const start = Math.floor((Date.now() - 2 * 3600_000) / MIN) * MIN;
    let now = start;
    const rules = loadRulesFile();
    const only = { ...rules, rules: rules.rules.filter((r) => r.id === 'token-refresh-failures-15m') };
    const ev = evaluator({ kafka, db, rules: only, eventsTopic: topic, clock: () => now, ...CLOCK_BEHIND_EVENTS, ...channels({ slack, pd }) });
    await ev.start();
    try {
      await ev.rebuiltAndLeading();
      await produce(kafka, topic, [1, 2, 3, 4, 5, 6].map((i) => refreshFailed(start + i * MIN, 'org-retry')));
      await waitFor(() => ev.stats.events >= 6, { timeoutMs: 60_000, what: 'events consumed' });
      now = start + 20 * MIN;
      await waitFor(() => slack.for('bot').length > before, { timeoutMs: 60_000, what: 'delivered after retries' });
      await waitFor(() => slack.for('crm').some((m) => m.body.text?.includes('org-retry')), { timeoutMs: 60_000, what: 'crm delivery' });
      expect(slack.for('bot').slice(before).filter((m) => m.body.text?.includes('org-retry'))).toHaveLength(1);
      expect(slack.rejected.map((r) => r.status).slice(0, 2)).toEqual([500, 429]);
      // The two scripted failures landed on whichever Slack rows went first: 2 deliveries + 2 retries in all.
      // Slack has the message before the dispatcher records it as sent: wait for the outbox rows to settle.
      const readRows = () =>
        db.query<{ attempts: number; status: string }>(
          `SELECT attempts, status FROM alert_outbox WHERE channel LIKE 'slack-%' AND scope_key = 'organization_id=org-retry' ORDER BY id`,
        );
      const rows = await waitFor(async () => {
        const r = await readRows();
        return r.length === 2 && r.every((x) => x.status !== 'pending') ? r : undefined;
      }, { timeoutMs: 30_000, what: 'outbox rows settled' });
      expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
      expect(rows.reduce((n, r) => n + r.attempts, 0)).toBe(4);
    } finally {
      await ev.stop();
    }
  });
});
