import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createAlertsAdminRouter } from '../../../src/consumers/alerts/admin-router.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import type { AlertEvaluator } from '../../../src/consumers/alerts/alert-evaluator.ts';
import { loadRulesFile, parseRules, SLO_RULES_PATH, type RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { readRegistry, setRegistryEnabled } from '../../../src/executors/registry-schema.ts';
import { waitFor } from '../../helpers/kafka.ts';
import { blockedCall, invoked, MIN, perMinute, refreshFailed, traffic } from '../../unit/alerts/engine-driver.ts';
import { alertsSuite, produce, restartableService, slackTexts, outboxDrained } from './alerts-harness.ts';

/**
 * Through the real broker and PostgreSQL, paging the local Slack: the cases an on-call engineer must be able to
 * trust, each with a restart of the evaluator in the middle (a new instance rebuilds from Kafka and the registry
 * database) that must decide the same and page nothing twice. Time is the events' own timestamps.
 */
describe('alerts on-call can trust', () => {
  const running: AlertEvaluator[] = [];
  const suite = alertsSuite({
    beforeTeardown: async () => {
      for (const ev of running) await ev.stop().catch(() => undefined);
    },
  });
  const { slack, pd } = suite;
  const S = 1000;

  /** A restartable evaluator of its own (alerts-harness' restartableService) on a timeline of its own. */
  async function service(rules: RulesFile, partitions = 3) {
    const { db } = suite;
    // Alert states are global to the alerts service (one per rule and scope). Each test is a service of its own on
    // its own timeline: a state an earlier test left, evaluated up to a later instant, would stand for decisions
    // already taken at this test's instants.
    await db.query('DELETE FROM alert_state');
    return restartableService(suite, rules, { partitions, running });
  }

  const pages = (scope: string, head = '[FIRING]') => slackTexts(slack, 'bot').filter((t) => t.startsWith(head) && t.includes(scope));

  it('six refresh failures across a clock-minute edge within 15 min page once; the same spread over 15 min 01 s do not; a restart in the middle decides the same', { timeout: 240_000 }, async () => {
    const rules = loadRulesFile();
    const svc = await service(rules);
    await svc.up();
    const t = (ms: number) => svc.start + 60 * MIN + ms;
    const sixAt = (org: string, first: number) => [first, ...[1, 2, 3, 4, 5].map((s) => 15 * MIN + s * S)].map((ms) => refreshFailed(t(ms), org));
    const edge = sixAt('org-edge', 59 * S); // 14 min 06 s
    const spread = sixAt('org-spread', 4 * S); // 15 min 01 s
    await svc.feed([...edge.slice(0, 3), ...spread.slice(0, 3)], t(2 * MIN));
    await svc.restart();
    await svc.feed([...edge.slice(3), ...spread.slice(3)], t(40 * MIN));
    await waitFor(() => pages('organization_id=org-edge').length >= 1, { timeoutMs: 60_000, what: 'the page for org-edge' });
    await svc.restart();
    svc.clock.now = t(60 * MIN);
    await svc.ev.settled();
    await waitFor(() => pages('organization_id=org-edge', '[RESOLVED]').length >= 1, { timeoutMs: 60_000, what: 'the resolve for org-edge' });
    expect(pages('organization_id=org-edge')).toHaveLength(1);
    expect(pages('organization_id=org-edge')[0]).toContain(': 6 vs > 5 over 15 min');
    expect(slackTexts(slack, 'crm').filter((x) => x.startsWith('[FIRING]') && x.includes('org-edge'))).toHaveLength(1);
    expect(slackTexts(slack, 'bot').some((x) => x.includes('org-spread'))).toBe(false);
    const [state] = await suite.db.query<{ firing_since: string; episode: number }>(
      `SELECT firing_since, episode FROM alert_state WHERE rule_id = 'token-refresh-failures-15m' AND scope_key = 'organization_id=org-edge'`,
    );
    expect(Number(state.firing_since)).toBe(t(15 * MIN + 5 * S));
    expect(state.episode).toBe(1);
  });

  it('a backlog read in one batch when the evaluator starts (one refresh failure, then six within 5 s thirty minutes later) pages once, at the sixth, not late', { timeout: 240_000 }, async () => {
    const svc = await service(loadRulesFile(), 1);
    const t = (ms: number) => svc.start + 60 * MIN + ms;
    const six = [0, 1, 2, 3, 4, 5].map((s) => refreshFailed(t(30 * MIN + s * S), 'org-catch'));
    // produced before the evaluator starts: its rebuild reads all seven in one batch
    await produce(suite.kafka, svc.topic, [refreshFailed(t(0), 'org-catch'), ...six]);
    svc.clock.now = t(40 * MIN);
    await svc.up();
    await waitFor(() => pages('organization_id=org-catch').length >= 1, { timeoutMs: 60_000, what: 'the page for org-catch' });
    await svc.ev.settled();
    expect(pages('organization_id=org-catch')).toHaveLength(1);
    expect(pages('organization_id=org-catch')[0]).toContain(': 6 vs > 5 over 15 min');
    expect(pages('organization_id=org-catch')[0]).not.toContain('late');
    const [state] = await suite.db.query<{ firing_since: string; episode: number }>(
      `SELECT firing_since, episode FROM alert_state WHERE rule_id = 'token-refresh-failures-15m' AND scope_key = 'organization_id=org-catch'`,
    );
    expect(Number(state.firing_since)).toBe(t(30 * MIN + 5 * S));
    expect(state.episode).toBe(1);
  });

  it('traffic dropping while 100% failing does not resolve, across a restart; the repeat says insufficient traffic', { timeout: 240_000 }, async () => {
    const base = loadRulesFile();
    const rules = parseRules({ ...base, rules: [{ ...base.rules[0], groupBy: [['node_type']] }] });
    const svc = await service(rules, 1);
    await svc.up();
    const DEAL = 'node_type=qontak_crm_deal_create';
    await svc.feed(perMinute(svc.start, 30, (m) => traffic(m, 50, 50)), svc.start + 32 * MIN);
    await waitFor(() => pages(DEAL).length >= 1, { timeoutMs: 60_000, what: 'the page' });
    // one call every 10 minutes, each failing, for 5 hours; restart halfway
    const trickle = perMinute(svc.start + 30 * MIN, 300, (m, i) => (i % 10 === 0 ? traffic(m, 1, 1) : []));
    await svc.feed(trickle.slice(0, trickle.length / 2), svc.start + 180 * MIN);
    await svc.restart();
    await svc.feed(trickle.slice(trickle.length / 2), svc.start + 330 * MIN);
    await waitFor(() => pages(DEAL, '[STILL FIRING]').length >= 1, { timeoutMs: 60_000, what: 'the repeat' });
    await svc.ev.settled();
    expect(pages(DEAL, '[RESOLVED]')).toEqual([]);
    expect(pages(DEAL)).toHaveLength(1);
    expect(pages(DEAL, '[STILL FIRING]')).toHaveLength(1);
    expect(pages(DEAL, '[STILL FIRING]')[0]).toMatch(/Insufficient traffic: \d+ calls in the window \(minimum 20\); still firing/);
    const [state] = await suite.db.query<{ status: string }>(`SELECT status FROM alert_state WHERE rule_id = 'failure-rate-1h' AND scope_key = $1`, [DEAL]);
    expect(state.status).toBe('firing');
  });

  it('refresh failures spooled through a 10-minute broker outage arrive late and page once, saying when the breach began; a restart and the redelivered spool page nothing more', { timeout: 240_000 }, async () => {
    const rules = loadRulesFile();
    const only = { ...rules, rules: rules.rules.filter((r) => r.id === 'token-refresh-failures-15m') };
    const svc = await service(only);
    await svc.up();
    const bg = (from: number, minutes: number) => perMinute(svc.start + from * MIN, minutes, (m) => [invoked(m + 1000, 'qontak_chat_room_tag', 'org-bg')]);
    // other services keep producing while org-late's executor spools its failures (minutes 5–10)
    await svc.feed(bg(0, 25), svc.start + 25 * MIN);
    const spooled = [0, 1, 2, 3, 4, 5].map((i) => refreshFailed(svc.start + (5 + i) * MIN + 500, 'org-late'));
    await svc.feed([...spooled, ...bg(25, 5)], svc.start + 30 * MIN);
    await waitFor(() => pages('organization_id=org-late').length >= 1, { timeoutMs: 60_000, what: 'the late page' });
    const page = pages('organization_id=org-late')[0];
    expect(page).toContain(`Breach began ${new Date(svc.start + 10 * MIN + 500).toISOString()}`);
    expect(page).toMatch(/detected \d+ min \d\d s late/);
    await svc.restart();
    await svc.feed([...spooled, ...bg(30, 40)], svc.start + 75 * MIN);
    await waitFor(() => pages('organization_id=org-late', '[RESOLVED]').length >= 1, { timeoutMs: 60_000, what: 'the resolve' });
    await waitFor(() => pd.events.filter((e) => e.dedup_key?.endsWith('organization_id=org-late')).length >= 2, { timeoutMs: 60_000, what: 'the PagerDuty resolve' });
    expect(pages('organization_id=org-late')).toHaveLength(1);
    expect(pd.events.filter((e) => e.dedup_key === 'actionpulse/token-refresh-failures-15m/organization_id=org-late').map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
  });

  it('kill switch: the overall alert goes quiet (blocked calls leave the rate); re-enable → grace → second disable; a restart in the middle pages nothing twice', { timeout: 300_000 }, async () => {
    const base = loadRulesFile();
    const ks = base.rules.find((r) => r.id === 'sustained-failure-kill-switch')!;
    // The action's scope only (one organization's calls): the lifecycle of a global disable with a person's re-enable is
    // what is tested, so the action's recovery is manual (kill-switch-recovery.test.ts tests the automatic one).
    const rules = parseRules({ ...base, reenableGraceMinutes: 30, recovery: { ...base.recovery, actions: { qontak_crm_deal_create: 'manual' } }, rules: [base.rules[0], { ...ks, groupBy: [['node_type']], windowMinutes: 10, pendingMinutes: 20, minVolume: 10 }] });
    const svc = await service(rules, 2);
    await svc.up();
    const { db } = suite;
    const DEAL = 'qontak_crm_deal_create';
    const TAG = 'qontak_chat_room_tag';
    const s = svc.start;
    // A: deal_create fails half its calls; chat_room_tag is healthy
    await svc.feed(perMinute(s, 30, (m) => [...traffic(m, 10, 5), ...traffic(m + 20_000, 10, 0, TAG)]), s + 32 * MIN);
    await waitFor(async () => (await readRegistry(db)).find((r) => r.node_type === DEAL)?.enabled === false, { timeoutMs: 60_000, what: 'the first disable' });
    // B: every deal_create call is refused; the overall rate leaves them out and recovers
    await svc.feed(perMinute(s + 30 * MIN, 40, (m) => [...Array.from({ length: 10 }, (_, i) => blockedCall(m + i * 1000)).flat(), ...traffic(m + 20_000, 10, 0, TAG)]), s + 72 * MIN);
    await waitFor(() => pages('all actions', '[RESOLVED]').length >= 1, { timeoutMs: 60_000, what: 'the overall resolve' });
    await waitFor(() => pages(`node_type=${DEAL}`, '[CLOSED: DISABLED]').length >= 1, { timeoutMs: 60_000, what: 'the per-action close' });
    const overall = pages('all actions', '[RESOLVED]')[0];
    expect(overall).toContain('all actions: 0.0%');
    expect(overall).toContain(`Leaves out ${DEAL} (disabled by the kill switch)`);
    await svc.restart();
    // an admin re-enables; C: the failure persists
    await setRegistryEnabled(db, DEAL, true, { actor: 'admin:dimas', reason: 'CRM fix deployed' });
    await svc.feed(perMinute(s + 70 * MIN, 45, (m) => [...traffic(m, 10, 5), ...traffic(m + 20_000, 10, 0, TAG)]), s + 117 * MIN);
    await waitFor(async () => (await readRegistry(db)).find((r) => r.node_type === DEAL)?.enabled === false, { timeoutMs: 60_000, what: 'the second disable' });
    await svc.ev.settled();
    const log = await db.query<{ decision: string; event_time: string }>(`SELECT decision, event_time FROM alert_kill_switch_log WHERE node_type = $1 ORDER BY id`, [DEAL]);
    const done = log.filter((l) => l.decision === 'done');
    expect(done).toHaveLength(2);
    const reenabled = s + 70 * MIN + 100; // the first call that reached the action again
    expect(log.some((l) => l.decision === 'waiting_grace' && Number(l.event_time) < reenabled + 30 * MIN)).toBe(true);
    expect(Number(done[1].event_time)).toBeGreaterThanOrEqual(reenabled + 30 * MIN);
    const audit = await db.query<{ action: string; actor: string }>(`SELECT action, actor FROM node_registry_audit WHERE node_type = $1 ORDER BY id`, [DEAL]);
    expect(audit.map((a) => `${a.action} ${a.actor}`)).toEqual(['disable alert:sustained-failure-kill-switch', 'enable admin:dimas', 'disable alert:sustained-failure-kill-switch']);
    await waitFor(() => slackTexts(slack, 'bot').filter((x) => x.startsWith('[KILL SWITCH]') && x.includes(`Disabled ${DEAL}`)).length >= 2, { timeoutMs: 60_000, what: 'two kill-switch messages' });
    await outboxDrained(suite.db);
    const kill = slackTexts(slack, 'bot').filter((x) => x.startsWith('[KILL SWITCH]'));
    expect(kill.filter((x) => x.includes(`Disabled ${DEAL}`))).toHaveLength(2);
    expect(kill.filter((x) => x.includes('grace period'))).toHaveLength(1);
    // the restart re-paged nothing: one FIRING per scope and episode
    // episode 1 (A) and episode 2 once deal_create fails again after the re-enable (C), for both scopes of rule 1
    const rate = (scope: string) => pages(scope).filter((x) => x.includes('Action failure rate'));
    expect(rate('all actions')).toHaveLength(2);
    expect(rate(`node_type=${DEAL}`)).toHaveLength(2);
    expect(pages(`node_type=${DEAL}`).filter((x) => x.includes('sustained for 24 h'))).toHaveLength(1);
  });

  it('the error budget left per action is served read-only at /api/error-budget, without the admin token, blocked calls left out', { timeout: 240_000 }, async () => {
    const slo = loadRulesFile(SLO_RULES_PATH);
    const svc = await service(parseRules({ ...slo, rules: slo.rules.filter((r) => r.id === 'slo-budget-burn-3d') }), 1);
    await svc.up();
    // deal_create: 200 calls, 4 failed (2% of an allowed 3%: a third of the budget left), plus 50 refused calls
    const events = perMinute(svc.start, 20, (m, i) => [...traffic(m, 10, i % 5 === 0 ? 1 : 0), ...(i >= 15 ? Array.from({ length: 10 }, (_, k) => blockedCall(m + 30_000 + k)).flat() : [])]);
    await svc.feed(events, svc.start + 25 * MIN);
    await waitFor(async () => (await suite.db.query(`SELECT 1 FROM alert_error_budget WHERE scope_key = 'node_type=qontak_crm_deal_create' AND calls = 200`)).length === 1, {
      timeoutMs: 60_000,
      what: 'the error budget row',
    });
    const app = express();
    app.use(createAlertsAdminRouter({ db: suite.db, adminToken: 'admin-token-0123456789abcdef', logger: silentLogger }));
    const server: Server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/error-budget`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { error_budget: { node_type: string | null; calls: number; failures: number; blocked: number; budget_left: number; success_target: number }[] };
      const deal = body.error_budget.find((r) => r.node_type === 'qontak_crm_deal_create')!;
      expect(deal).toMatchObject({ calls: 200, failures: 4, blocked: 50 });
      expect(deal.success_target).toBeCloseTo(0.97, 12);
      expect(deal.budget_left).toBeCloseTo(1 - 4 / (200 * 0.03), 12);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
