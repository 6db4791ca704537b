import { describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import type { AlertEvaluator } from '../../../src/consumers/alerts/alert-evaluator.ts';
import { freshTopics, uniqueName, waitFor } from '../../helpers/kafka.ts';
import { MIN, perMinute, traffic } from '../../unit/alerts/engine-driver.ts';
import { CLOCK_BEHIND_EVENTS, alertsSuite, channels, evaluator, produce, slackTexts, outboxDrained } from './alerts-harness.ts';

/**
 * Two instances in one group: one leads, one stands by. The leader is stopped mid-window (after the
 * page, before recovery); the standby takes over, rebuilds its windows from Kafka by timestamp and
 * finishes the episode. Slack and PagerDuty see what one uninterrupted evaluator would have sent.
 */
describe('alert evaluator: two instances, failover and restart', () => {
  const running: AlertEvaluator[] = [];
  const suite = alertsSuite({
    beforeTeardown: async () => {
      for (const ev of running) await ev.stop().catch(() => undefined);
    },
  });
  const { slack, pd } = suite;

  it('exactly one page per transition across a leader change and a restart', { timeout: 300_000 }, async () => {
    const { kafka, db } = suite;
    const { events: topic } = await freshTopics(kafka, 3);
    const start = Math.floor((Date.now() - 5 * 3600_000) / MIN) * MIN;
    let now = start;
    const shared = { kafka, db, rules: loadRulesFile(), eventsTopic: topic, clock: () => now, ...CLOCK_BEHIND_EVENTS, groupId: uniqueName('alerts'), controlTopic: uniqueName('t-ctl') };
    const a = evaluator({ ...shared, instanceId: 'a', ...channels({ slack, pd }) });
    const b = evaluator({ ...shared, instanceId: 'b', ...channels({ slack, pd }) });
    running.push(a, b);
    await a.start();
    await b.start();
    await waitFor(() => [a, b].filter((e) => e.isLeader).length === 1, { timeoutMs: 60_000, what: 'one leader' });
    const leader = a.isLeader ? a : b;
    const standby = leader === a ? b : a;
    await leader.rebuiltAndLeading();

    // Part 1: 20 failing minutes for deal_create, several organizations (so several partitions).
    const orgs = ['org-1', 'org-2', 'org-3', 'org-4'];
    const part1 = perMinute(start, 20, (m, i) => traffic(m, 100, 40).map((e) => ({ ...e, organization_id: orgs[i % orgs.length] })));
    await produce(kafka, topic, part1);
    await waitFor(() => leader.stats.events >= part1.length, { timeoutMs: 60_000, what: 'part 1 consumed' });
    now = start + 20 * MIN;
    await waitFor(() => slackTexts(slack, 'bot').filter((t) => t.startsWith('[FIRING]')).length >= 2, { timeoutMs: 60_000, what: 'first pages' });

    // The leader goes away mid-window; the standby takes over and rebuilds from Kafka.
    await leader.stop();
    await waitFor(() => standby.isLeader, { timeoutMs: 60_000, what: 'standby takes over' });
    await standby.rebuiltAndLeading();
    expect(standby.stats.rebuildEvents).toBeGreaterThanOrEqual(part1.length);

    const part2 = perMinute(start + 20 * MIN, 100, (m, i) => traffic(m, 100, 0).map((e) => ({ ...e, organization_id: orgs[i % orgs.length] })));
    await produce(kafka, topic, part2);
    await waitFor(() => standby.stats.events >= part1.length + part2.length, { timeoutMs: 90_000, what: 'part 2 consumed' });
    now = start + 100 * MIN;
    await waitFor(() => slackTexts(slack, 'bot').filter((t) => t.startsWith('[RESOLVED]')).length >= 2, { timeoutMs: 90_000, what: 'resolves' });

    // And a restart of the whole service: a new instance rebuilds the same range and decides nothing new.
    await standby.stop();
    const c = evaluator({ ...shared, instanceId: 'c', ...channels({ slack, pd }) });
    running.push(c);
    await c.start();
    await waitFor(() => c.isLeader, { timeoutMs: 60_000, what: 'restarted instance leads' });
    await c.rebuiltAndLeading();
    now = start + 110 * MIN;
    await c.settled();
    await outboxDrained(db);

    const bot = slackTexts(slack, 'bot');
    for (const scope of ['node_type=qontak_crm_deal_create', 'all actions']) {
      expect(bot.filter((t) => t.startsWith('[FIRING]') && t.includes(scope)), bot.join('\n')).toHaveLength(1);
      expect(bot.filter((t) => t.startsWith('[RESOLVED]') && t.includes(scope)), bot.join('\n')).toHaveLength(1);
    }
    expect(bot.filter((t) => t.startsWith('[STILL FIRING]'))).toEqual([]);
    expect(pd.events.filter((e) => e.dedup_key === 'actionpulse/failure-rate-1h/node_type=qontak_crm_deal_create').map((e) => e.event_action)).toEqual([
      'trigger',
      'resolve',
    ]);
    const [state] = await db.query<{ status: string; episode: number }>(
      `SELECT status, episode FROM alert_state WHERE rule_id = 'failure-rate-1h' AND scope_key = 'node_type=qontak_crm_deal_create'`,
    );
    expect(state).toEqual({ status: 'resolved', episode: 1 });
  });
});
