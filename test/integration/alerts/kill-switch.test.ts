import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertsAdminRouter } from '../../../src/consumers/alerts/admin-router.ts';
import { loadRulesFile, parseRules } from '../../../src/consumers/alerts/alert-rules.ts';
import { RegistryGate } from '../../../src/executors/registry-gate.ts';
import { readRegistry } from '../../../src/executors/registry-schema.ts';
import type { KafkaPort } from '../../../src/platform/kafka/kafka-port.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { FakePagerDuty } from '../../fakes/fake-pagerduty.ts';
import { FakeSlack } from '../../fakes/fake-slack.ts';
import { freshTopics, testPort, waitFor } from '../../helpers/kafka.ts';
import { MIN, perMinute, traffic } from '../../unit/alerts/engine-driver.ts';
import { CLOCK_BEHIND_EVENTS, channels, evaluator, freshRegistryDb, produce, slackTexts } from './alerts-harness.ts';

const DEAL = 'qontak_crm_deal_create';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

describe('kill switch end to end', () => {
  let kafka: KafkaPort;
  const slack = new FakeSlack({ rateLimit: false });
  const pd = new FakePagerDuty();
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    kafka = await testPort();
    await slack.start();
    await pd.start();
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await kafka?.close();
    await slack.stop();
    await pd.stop();
  });

  it('a 24-hour sustained failure disables the action, executors see it, the audit is written, rule 1 is inhibited, and only an admin re-enables', { timeout: 300_000 }, async () => {
    const { db, drop } = await freshRegistryDb();
    cleanups.push(drop);
    const gate = await RegistryGate.open(db, { resyncIntervalMs: 3600_000, logger: silentLogger });
    cleanups.push(() => gate.close());
    expect(gate.isEnabled(DEAL)).toBe(true);
    const { events: topic } = await freshTopics(kafka, 2);
    const start = Math.floor((Date.now() - 31 * 3600_000) / MIN) * MIN;
    let now = start;
    // The action's recovery is manual: an automatic disable stays until a person re-enables it (kill-switch-recovery.test.ts tests the automatic one).
    const shipped = loadRulesFile();
    const rules = parseRules({ ...shipped, recovery: { ...shipped.recovery, actions: { [DEAL]: 'manual' } } });
    const ev = evaluator({ kafka, db, rules, eventsTopic: topic, clock: () => now, ...CLOCK_BEHIND_EVENTS, ...channels({ slack, pd }) });
    cleanups.push(() => ev.stop());
    await ev.start();
    await ev.rebuiltAndLeading();
    // 30 hours at 30% failures (10 calls a minute) for deal_create, spread over three organizations (each minute's
    // calls from one of them, in turn), so the breach is global; chat_room_tag stays healthy.
    const events = perMinute(start, 1800, (m, i) => [...traffic(m, 10, 3, DEAL, `org-${i % 3}`), ...traffic(m + 1000, 10, 0, 'qontak_chat_room_tag')]);
    await produce(kafka, topic, events);
    await waitFor(() => ev.stats.events >= events.length, { timeoutMs: 120_000, what: 'events consumed' });
    now = start + 1802 * MIN;

    await waitFor(() => !gate.isEnabled(DEAL), { timeoutMs: 60_000, what: 'the running gate to refuse deal_create' });
    expect(gate.isEnabled('qontak_chat_room_tag')).toBe(true);
    const audit = await db.query<{ action: string; actor: string; reason: string; details: { rate: number; failed: number; completed: number } }>(
      `SELECT action, actor, reason, details FROM node_registry_audit WHERE node_type = $1`,
      [DEAL],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'disable', actor: 'alert:sustained-failure-kill-switch' });
    expect(audit[0].details.rate).toBeGreaterThan(0.2);
    expect(audit[0].details.failed / audit[0].details.completed).toBeCloseTo(audit[0].details.rate, 5);
    // disabled exactly 24 h after the condition began
    const [state] = await db.query<{ pending_since: string; firing_since: string; action_status: string }>(
      `SELECT pending_since, firing_since, action_status FROM alert_state WHERE rule_id = 'sustained-failure-kill-switch' AND scope_key = $1`,
      [`node_type=${DEAL}`],
    );
    expect(Number(state.firing_since) - Number(state.pending_since)).toBe(24 * 60 * MIN);
    expect(state.action_status).toBe('done');
    await waitFor(() => slackTexts(slack, 'bot').some((t) => t.startsWith('[KILL SWITCH]') && t.includes(`Disabled ${DEAL}`)), { timeoutMs: 60_000, what: 'kill switch message' });

    // inhibition: rule 1 keeps firing for deal_create, but its repeat after the disable is not paged
    await ev.settled();
    const inhibited = await db.query(`SELECT kind FROM alert_outbox WHERE rule_id = 'failure-rate-1h' AND scope_key = $1 AND status = 'inhibited'`, [`node_type=${DEAL}`]);
    expect(inhibited.length).toBeGreaterThan(0);

    // re-enable only with the admin token and a reason
    const app = express();
    app.use(createAlertsAdminRouter({ db, adminToken: ADMIN_TOKEN, logger: silentLogger }));
    const server: Server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = (token: string | undefined, body: unknown) =>
      fetch(`${base}/v1/registries/${DEAL}/enable`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    expect((await post(undefined, { reason: 'fixed upstream' })).status).toBe(401);
    expect((await post('wrong-token-0123456789abcdef', { reason: 'fixed upstream' })).status).toBe(401);
    expect((await post(ADMIN_TOKEN, {})).status).toBe(400);
    const ok = await post(ADMIN_TOKEN, { reason: 'CRM outage fixed', actor: 'dimas' });
    expect(ok.status).toBe(200);
    await waitFor(() => gate.isEnabled(DEAL), { timeoutMs: 30_000, what: 're-enable seen by the gate' });
    const trail = await db.query<{ action: string; actor: string; reason: string }>(`SELECT action, actor, reason FROM node_registry_audit WHERE node_type = $1 ORDER BY id`, [DEAL]);
    expect(trail.map((r) => [r.action, r.actor])).toEqual([
      ['disable', 'alert:sustained-failure-kill-switch'],
      ['enable', 'admin:dimas'],
    ]);
  });

  it('holds the cap of automatic disables per 24 h, and dry-run changes nothing', { timeout: 300_000 }, async () => {
    // A shortened kill-switch rule: 10-minute window, 10 minutes sustained.
    const base = loadRulesFile();
    const ks = base.rules.find((r) => r.id === 'sustained-failure-kill-switch')!;
    // The action's scope only: one organization's calls, and the cap is what is tested.
    const rules = parseRules({ ...base, rules: [{ ...ks, groupBy: [['node_type']], windowMinutes: 10, pendingMinutes: 10, minVolume: 10 }] });
    const failing = ['qontak_crm_deal_create', 'qontak_crm_ticket_create', 'qontak_chat_room_assign'] as const;

    for (const dryRun of [false, true]) {
      const { db, drop } = await freshRegistryDb();
      cleanups.push(drop);
      const { events: topic } = await freshTopics(kafka, 1);
      const start = Math.floor((Date.now() - 2 * 3600_000) / MIN) * MIN;
      let now = start;
      const ev = evaluator({ kafka, db, rules, eventsTopic: topic, clock: () => now, ...CLOCK_BEHIND_EVENTS, killSwitch: { dryRun, maxPer24h: 2 }, ...channels({ slack, pd }) });
      cleanups.push(() => ev.stop());
      await ev.start();
      await ev.rebuiltAndLeading();
      // the three node_types cross in order, a few minutes apart
      const events = perMinute(start, 40, (m, i) => failing.flatMap((nt, k) => traffic(m + k, 10, i >= k * 3 ? 5 : 0, nt)));
      await produce(kafka, topic, events);
      await waitFor(() => ev.stats.events >= events.length, { timeoutMs: 60_000, what: 'events consumed' });
      now = start + 42 * MIN;
      await waitFor(
        async () => (await db.query(`SELECT 1 FROM alert_kill_switch_log`)).length >= 3,
        { timeoutMs: 60_000, what: 'three kill-switch decisions' },
      );
      const decisions = await db.query<{ node_type: string; decision: string }>(`SELECT node_type, decision FROM alert_kill_switch_log ORDER BY id`);
      const registry = Object.fromEntries((await readRegistry(db)).map((r) => [r.node_type, r.enabled]));
      if (!dryRun) {
        expect(decisions.map((d) => d.decision)).toEqual(['done', 'done', 'capped']);
        expect(failing.map((nt) => registry[nt])).toEqual([false, false, true]);
        await waitFor(() => slackTexts(slack, 'bot').some((t) => t.includes('cap of 2 automatic disables') && t.includes(failing[2])), { timeoutMs: 30_000, what: 'ask-a-human message' });
      } else {
        expect(decisions.map((d) => d.decision)).toEqual(['dry_run', 'dry_run', 'dry_run']);
        expect(Object.values(registry).every((e) => e === true)).toBe(true);
        expect((await db.query(`SELECT 1 FROM node_registry_audit`)).length).toBe(0);
        await waitFor(() => slackTexts(slack, 'bot').some((t) => t.includes(`DRY RUN: would disable ${failing[2]}`)), { timeoutMs: 30_000, what: 'dry-run message' });
      }
      await ev.stop();
    }
  });
});
