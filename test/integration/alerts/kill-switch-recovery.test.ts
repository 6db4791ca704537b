import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createAlertsAdminRouter } from '../../../src/consumers/alerts/admin-router.ts';
import { loadRulesFile, parseRules, type RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { RegistryGate } from '../../../src/executors/registry-gate.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { waitFor } from '../../helpers/kafka.ts';
import { blockedCall, MIN, perMinute, probeCall, traffic } from '../../unit/alerts/engine-driver.ts';
import { gatedAlertsSuite, outboxDrained, restartableService, slackTexts } from './alerts-harness.ts';

/**
 * Half-open recovery through the real broker, PostgreSQL, the registry gate and the local Slack and PagerDuty: after
 * the kill switch's disable and the 30-min cool-down the gate lets one call in ten through as a probe; five
 * successful probes in a row switch the action back on (audited, told to the disable's receivers); a failed probe
 * keeps it off and the next round waits twice as long. Calls are made through a RegistryGate that follows the
 * registry as the executors' does. Each case restarts the evaluator in the middle: the state is kept, nothing twice.
 */
describe('kill-switch recovery', () => {
  const suite = gatedAlertsSuite();
  const { running, gates } = suite;
  const { slack, pd } = suite;
  const DEAL = 'qontak_crm_deal_create';
  const ORGS = ['org-a', 'org-b', 'org-c', 'org-d', 'org-e', 'org-f', 'org-g'];

  /** The kill-switch rule alone, shortened (10-min window, 10 min sustained, 10 calls); the default recovery settings. */
  function rules(): RulesFile {
    const base = loadRulesFile();
    const ks = base.rules.find((r) => r.id === 'sustained-failure-kill-switch')!;
    return parseRules({ ...base, rules: [{ ...ks, windowMinutes: 10, pendingMinutes: 10, minVolume: 10 }] });
  }

  async function setUp() {
    const { db } = suite;
    for (const table of ['alert_state', 'alert_kill_switch_log', 'alert_recovery', 'alert_outbox', 'node_registry_organizations', 'node_registry_audit']) await db.query(`DELETE FROM ${table}`);
    await db.query(`UPDATE node_registries SET enabled = true, probe_every = NULL`);
    slack.messages.length = 0;
    pd.changes.length = 0;
    const gate = await RegistryGate.open(db, { resyncIntervalMs: 3600_000, logger: silentLogger });
    gates.push(gate);
    const svc = await restartableService(suite, rules(), { partitions: 2, running });
    await svc.up();
    return { db, gate, svc };
  }

  /** `calls` calls of `org` at `ts` as the executors make them: refused, let through as a probe, or run. */
  function through(gate: RegistryGate, ts: number, org: string, calls: number, ok: boolean): ActionEvent[] {
    const out: ActionEvent[] = [];
    for (let i = 0; i < calls; i++) {
      const v = gate.verdict(DEAL, org);
      const at = ts + i * 1000;
      if (!v.allowed) out.push(...blockedCall(at, DEAL, org, v.scope));
      else if (v.probe) out.push(...probeCall(at, ok, DEAL, org));
      else out.push(...traffic(at, 1, ok ? 0 : 1, DEAL, org));
    }
    return out;
  }

  const audit = (db: typeof suite.db) =>
    db.query<{ scope: string; organization_id: string | null; action: string; actor: string; details: { event_time?: number; cool_down_minutes?: number } }>(
      `SELECT scope, organization_id, action, actor, details FROM node_registry_audit WHERE node_type = $1 ORDER BY id`,
      [DEAL],
    );
  const reenabled = (channel: string) => slackTexts(slack, channel).filter((t) => t.startsWith('[RE-ENABLED]'));
  const killSwitch = (channel: string) => slackTexts(slack, channel).filter((t) => t.startsWith('[KILL SWITCH]'));

  it('the cause gone: cool-down, then probes, then one automatic re-enable told to global on-call; a restart between probes keeps the count', { timeout: 600_000 }, async () => {
    const { db, gate, svc } = await setUp();
    const s = svc.start;
    // every organization failing: a global disable
    await svc.feed(perMinute(s, 15, (m) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 2, 2, DEAL, org))), s + 17 * MIN);
    await waitFor(() => !gate.verdict(DEAL, 'org-a').allowed, { timeoutMs: 60_000, what: 'the global disable at the gate' });
    const [disable] = await audit(db);
    const disabledAt = disable.details.event_time!;
    // refused calls through the cool-down, until the watermark passes its end and probes are let through
    const coolEnd = disabledAt + 30 * MIN;
    await svc.feed(perMinute(s + 15 * MIN, Math.ceil((coolEnd - s) / MIN) - 13, (m) => through(gate, m, 'org-a', 10, true)), coolEnd + 3 * MIN);
    await waitFor(() => gate.probing()[DEAL] === 10, { timeoutMs: 60_000, what: 'probes let through at the gate' });
    let minute = Math.ceil((coolEnd + 2 * MIN) / MIN) * MIN;
    // the CRM works again: each minute's probe succeeds; two probes, then a restart
    for (let i = 0; i < 2; i++, minute += MIN) await svc.feed(through(gate, minute, 'org-a', 10, true), minute + MIN);
    await svc.restart();
    // a probe a minute; each is decided once the watermark has passed it (two minutes later)
    for (let i = 0; i < 8 && !gate.isEnabled(DEAL); i++, minute += MIN) await svc.feed(through(gate, minute, 'org-a', 10, true), minute + MIN);
    await waitFor(async () => (await db.query<{ enabled: boolean }>(`SELECT enabled FROM node_registries WHERE node_type = $1`, [DEAL]))[0].enabled, { timeoutMs: 60_000, what: 'the automatic re-enable' });
    await outboxDrained(db);

    const [row] = await db.query<{ enabled: boolean; probe_every: number | null; updated_by: string }>(`SELECT enabled, probe_every, updated_by FROM node_registries WHERE node_type = $1`, [DEAL]);
    expect(row).toEqual({ enabled: true, probe_every: null, updated_by: 'alert:recovery' });
    const trail = await audit(db);
    expect(trail.map((a) => [a.scope, a.action, a.actor])).toEqual([
      ['global', 'disable', 'alert:sustained-failure-kill-switch'],
      ['global', 'probe', 'alert:recovery'],
      ['global', 'enable', 'alert:recovery'],
    ]);
    expect(trail[1].details.event_time).toBe(coolEnd);
    const [rec] = await db.query<{ phase: string; cycle: number; rounds: number; probes: { ok: boolean }[]; ended_by: string; ended_at: string }>(
      `SELECT phase, cycle, rounds, probes, ended_by, ended_at FROM alert_recovery WHERE node_type = $1`,
      [DEAL],
    );
    expect(rec).toMatchObject({ phase: 'reenabled', cycle: 1, rounds: 0, ended_by: 'recovery' });
    expect(rec.probes.map((p) => p.ok)).toEqual([true, true, true, true, true]);
    expect(Number(trail[2].details.event_time)).toBe(Number(rec.ended_at));
    // told once, to the disable's receivers (bot-oncall: #bot and a PagerDuty change event), with the probes
    expect(killSwitch('bot')).toHaveLength(1);
    const told = reenabled('bot');
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(`Re-enabled ${DEAL} automatically: 5 probes in a row succeeded`);
    expect(reenabled('crm')).toEqual([]);
    expect(pd.changes).toHaveLength(1);
    expect(pd.changes[0].payload.summary).toBe(told[0]);
  });

  it('the cause still there: a failed probe keeps one organization off and the next round waits twice as long; a restart after the failure keeps the state', { timeout: 600_000 }, async () => {
    const { db, gate, svc } = await setUp();
    const s = svc.start;
    // org-a failing 100 %, six others healthy: org-a switched off on its own
    const failing = (m: number) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 10, org === 'org-a' ? 10 : 0, DEAL, org));
    await svc.feed(perMinute(s, 15, failing), s + 17 * MIN);
    await waitFor(() => !gate.verdict(DEAL, 'org-a').allowed, { timeoutMs: 60_000, what: 'the organization-scoped disable at the gate' });
    const disabledAt = (await audit(db))[0].details.event_time!;
    const coolEnd = disabledAt + 30 * MIN;
    const calls = (m: number) => ORGS.flatMap((org, k) => through(gate, m + k * 1000, org, org === 'org-a' ? 10 : 2, org !== 'org-a'));
    await svc.feed(perMinute(s + 15 * MIN, Math.ceil((coolEnd - s) / MIN) - 13, calls), coolEnd + 3 * MIN);
    await waitFor(() => gate.probing()[`${DEAL}/org-a`] === 10, { timeoutMs: 60_000, what: "org-a's probes let through" });
    // org-a's CRM still fails: its probe fails, the round ends
    let minute = Math.ceil((coolEnd + 2 * MIN) / MIN) * MIN;
    for (let i = 0; i < 6 && gate.probing()[`${DEAL}/org-a`] !== undefined; i++, minute += MIN) await svc.feed(calls(minute), minute + MIN);
    await waitFor(() => gate.probing()[`${DEAL}/org-a`] === undefined, { timeoutMs: 60_000, what: 'the probes stopped' });
    await svc.restart();
    const [afterFailure] = await db.query<{ phase: string; rounds: number; cool_down_minutes: number; cool_until: string; probes: { ok: boolean; reason?: string }[] }>(
      `SELECT phase, rounds, cool_down_minutes, cool_until, probes FROM alert_recovery WHERE node_type = $1 AND organization_id = 'org-a'`,
      [DEAL],
    );
    expect(afterFailure).toMatchObject({ phase: 'cooling', rounds: 1, cool_down_minutes: 60 });
    const failedProbe = afterFailure.probes[afterFailure.probes.length - 1];
    expect(failedProbe).toMatchObject({ ok: false, reason: 'crm_server_error' });
    const failedAt = (failedProbe as unknown as { at: number }).at;
    expect(Number(afterFailure.cool_until)).toBe(failedAt + 60 * MIN);
    // refused again for the doubled cool-down; the second round starts when it is over
    const secondRound = failedAt + 60 * MIN;
    await svc.feed(perMinute(minute, Math.ceil((secondRound - minute) / MIN) + 3, calls), secondRound + 4 * MIN);
    await waitFor(() => gate.probing()[`${DEAL}/org-a`] === 10, { timeoutMs: 60_000, what: 'the second round' });
    await outboxDrained(db);

    const trail = await audit(db);
    expect(trail.map((a) => [a.scope, a.organization_id, a.action, a.actor])).toEqual([
      ['organization', 'org-a', 'disable', 'alert:sustained-failure-kill-switch'],
      ['organization', 'org-a', 'probe', 'alert:recovery'],
      ['organization', 'org-a', 'probe_end', 'alert:recovery'],
      ['organization', 'org-a', 'probe', 'alert:recovery'],
    ]);
    expect(trail.map((a) => a.details.event_time)).toEqual([disabledAt, coolEnd, failedAt, secondRound]);
    expect((await db.query<{ enabled: boolean }>(`SELECT enabled FROM node_registry_organizations WHERE node_type = $1 AND organization_id = 'org-a'`, [DEAL]))[0].enabled).toBe(false);
    expect((await db.query<{ enabled: boolean }>(`SELECT enabled FROM node_registries WHERE node_type = $1`, [DEAL]))[0].enabled).toBe(true);
    expect(killSwitch('crm')).toHaveLength(1);
    expect(reenabled('crm')).toEqual([]);
    expect(reenabled('bot')).toEqual([]);
    expect(killSwitch('bot')).toEqual([]);
  });

  it("a person's re-enable during the cool-down ends the automatic cycle: no probe round follows; the admin API shows the cycle and who ended it", { timeout: 600_000 }, async () => {
    const { db, gate, svc } = await setUp();
    const s = svc.start;
    const token = 'admin-token-0123456789abcdef';
    const app = express();
    app.use(createAlertsAdminRouter({ db, adminToken: token, logger: silentLogger }));
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const registries = async () =>
      (await (await fetch(`${api}/v1/registries`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        registries: { node_type: string; enabled: boolean; probe_every: number | null }[];
        recovery: { node_type: string; scope: string; phase: string; cool_until: string | null; ended_by: string | null }[];
      };
    try {
      await svc.feed(perMinute(s, 15, (m) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 2, 2, DEAL, org))), s + 17 * MIN);
      await waitFor(() => !gate.verdict(DEAL, 'org-a').allowed, { timeoutMs: 60_000, what: 'the global disable at the gate' });
      const disabledAt = (await audit(db))[0].details.event_time!;
      const cooling = await registries();
      expect(cooling.recovery).toEqual([expect.objectContaining({ node_type: DEAL, scope: 'global', phase: 'cooling', cool_until: new Date(disabledAt + 30 * MIN).toISOString(), ended_by: null })]);
      const res = await fetch(`${api}/v1/registries/${DEAL}/enable`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'CRM fixed', actor: 'dina' }),
      });
      expect(res.status).toBe(200);
      // past the end of the cool-down: the cycle is over, nothing starts probing
      const coolEnd = disabledAt + 30 * MIN;
      await svc.feed(perMinute(s + 15 * MIN, Math.ceil((coolEnd - s) / MIN) - 10, (m) => through(gate, m, 'org-a', 5, true)), coolEnd + 6 * MIN);
      await svc.ev.settled();
      const after = await registries();
      expect(after.recovery).toEqual([expect.objectContaining({ node_type: DEAL, phase: 'ended', ended_by: 'admin:dina' })]);
      expect(after.registries.find((r) => r.node_type === DEAL)).toMatchObject({ enabled: true, probe_every: null });
      expect((await audit(db)).map((a) => `${a.action} ${a.actor}`)).toEqual(['disable alert:sustained-failure-kill-switch', 'enable admin:dina']);
      await outboxDrained(db);
      expect(reenabled('bot')).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
