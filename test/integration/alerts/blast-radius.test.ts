import { describe, expect, it } from 'vitest';
import { loadRulesFile, parseRules, type RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { RegistryGate } from '../../../src/executors/registry-gate.ts';
import { readRegistry } from '../../../src/executors/registry-schema.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { waitFor } from '../../helpers/kafka.ts';
import { blockedCall, MIN, perMinute, traffic } from '../../unit/alerts/engine-driver.ts';
import { gatedAlertsSuite, outboxDrained, restartableService, slackTexts } from './alerts-harness.ts';

/**
 * The kill switch's blast radius through the real broker, PostgreSQL and the local Slack: failures concentrated in
 * one organization switch the action off for that organization only and page its receiver (crm-oncall → #crm);
 * failures spread over most organizations switch it off for everyone and page global on-call (bot-oncall → #bot).
 * Each with a restart of the evaluator after the decision: the state is kept and nothing is paged twice.
 */
describe('kill switch scoped by blast radius', () => {
  const suite = gatedAlertsSuite();
  const { running, gates } = suite;
  const { slack } = suite;
  const DEAL = 'qontak_crm_deal_create';
  const ORGS = ['org-a', 'org-b', 'org-c', 'org-d', 'org-e', 'org-f', 'org-g'];

  /** The kill-switch rule alone, shortened: a 10-minute window, 10 minutes sustained, 10 calls. */
  function rules(organizationRoutes: Record<string, string[]> = {}): RulesFile {
    const base = loadRulesFile();
    const ks = base.rules.find((r) => r.id === 'sustained-failure-kill-switch')!;
    return parseRules({ ...base, blastRadius: { ...base.blastRadius, organizationRoutes }, rules: [{ ...ks, windowMinutes: 10, pendingMinutes: 10, minVolume: 10 }] });
  }

  async function service(organizationRoutes: Record<string, string[]> = {}) {
    const { db } = suite;
    await db.query('DELETE FROM alert_state');
    await db.query('DELETE FROM alert_kill_switch_log');
    await db.query('DELETE FROM alert_outbox');
    await db.query('DELETE FROM node_registry_organizations');
    await db.query('DELETE FROM node_registry_audit');
    await db.query(`UPDATE node_registries SET enabled = true`);
    return restartableService(suite, rules(organizationRoutes), { partitions: 2, running, slackReceivers: [...new Set(Object.values(organizationRoutes).flat())] });
  }

  const killSwitch = (channel: string) => slackTexts(slack, channel).filter((t) => t.startsWith('[KILL SWITCH]') && t.includes(DEAL));
  const firing = (channel: string) => slackTexts(slack, channel).filter((t) => t.startsWith('[FIRING]') && t.includes('sustained for 24 h'));

  it('one organization failing 100% while six others are healthy: disabled for that organization only, its channel paged, no global disable; a restart pages nothing twice', { timeout: 300_000 }, async () => {
    slack.messages.length = 0;
    const { db } = suite;
    const gate = await RegistryGate.open(db, { resyncIntervalMs: 3600_000, logger: silentLogger });
    gates.push(gate);
    const svc = await service();
    await svc.up();
    const s = svc.start;
    // org-a: 10 calls a minute, all failing; the six others 10 calls a minute, all fine (the action: 14 % failing)
    const minute = (m: number) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 10, org === 'org-a' ? 10 : 0, DEAL, org));
    await svc.feed(perMinute(s, 15, minute), s + 17 * MIN);
    await waitFor(async () => (await db.query(`SELECT 1 FROM node_registry_organizations WHERE node_type = $1 AND organization_id = 'org-a' AND enabled = false`, [DEAL])).length === 1, {
      timeoutMs: 60_000,
      what: 'the organization-scoped disable',
    });
    await waitFor(() => !gate.verdict(DEAL, 'org-a').allowed, { timeoutMs: 30_000, what: 'the gate to refuse org-a' });
    expect(gate.verdict(DEAL, 'org-a')).toEqual({ allowed: false, scope: 'organization' });
    for (const org of ORGS.slice(1)) expect(gate.verdict(DEAL, org)).toEqual({ allowed: true });
    expect((await readRegistry(db)).find((r) => r.node_type === DEAL)?.enabled).toBe(true);

    // restart; org-a's calls are now refused by its own switch, the others go on
    await svc.restart();
    const after = (m: number) => [
      ...Array.from({ length: 10 }, (_, i) => blockedCall(m + i * 100, DEAL, 'org-a', 'organization')).flat(),
      ...ORGS.slice(1).flatMap((org, k) => traffic(m + (k + 1) * 1000, 10, 0, DEAL, org)),
    ];
    await svc.feed(perMinute(s + 15 * MIN, 15, after), s + 32 * MIN);
    await outboxDrained(db);

    const crm = killSwitch('crm');
    expect(crm).toHaveLength(1);
    expect(crm[0]).toContain(`Disabled ${DEAL} for organization org-a`);
    expect(crm[0]).toContain('By organization (failed/completed): org-a');
    expect(firing('crm').filter((t) => t.includes('organization_id=org-a'))).toHaveLength(1);
    expect(killSwitch('bot')).toEqual([]);
    expect(firing('bot')).toEqual([]);
    const audit = await db.query<{ scope: string; organization_id: string | null; action: string; actor: string }>(
      `SELECT scope, organization_id, action, actor FROM node_registry_audit WHERE node_type = $1 ORDER BY id`,
      [DEAL],
    );
    expect(audit).toEqual([{ scope: 'organization', organization_id: 'org-a', action: 'disable', actor: 'alert:sustained-failure-kill-switch' }]);
    const log = await db.query<{ decision: string; scope: string; organizations: string[] }>(`SELECT decision, scope, organizations FROM alert_kill_switch_log ORDER BY id`);
    expect(log).toEqual([{ decision: 'done', scope: 'organization', organizations: ['org-a'] }]);
    // the organization's alert stays open across the restart, its action done
    const [state] = await db.query<{ status: string; action_status: string }>(`SELECT status, action_status FROM alert_state WHERE scope_key = $1`, [`node_type=${DEAL},organization_id=org-a`]);
    expect(state).toEqual({ status: 'firing', action_status: 'done' });
  });

  it('failures spread over most organizations: disabled for everyone, global on-call paged, no organization paged; a restart pages nothing twice', { timeout: 300_000 }, async () => {
    slack.messages.length = 0;
    const { db } = suite;
    const svc = await service();
    await svc.up();
    const s = svc.start;
    // five of seven organizations failing half their calls: no two of them explain the breach
    const minute = (m: number) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 10, k < 5 ? 5 : 0, DEAL, org));
    await svc.feed(perMinute(s, 15, minute), s + 17 * MIN);
    await waitFor(async () => (await readRegistry(db)).find((r) => r.node_type === DEAL)?.enabled === false, { timeoutMs: 60_000, what: 'the global disable' });
    await svc.restart();
    const after = (m: number) => ORGS.flatMap((org, k) => blockedCall(m + k * 1000, DEAL, org, 'global'));
    await svc.feed(perMinute(s + 15 * MIN, 15, after), s + 32 * MIN);
    await outboxDrained(db);

    const bot = killSwitch('bot');
    expect(bot).toHaveLength(1);
    expect(bot[0]).toContain(`Disabled ${DEAL} (`);
    expect(bot[0]).toContain('By organization (failed/completed):');
    expect(firing('bot').filter((t) => t.includes(`node_type=${DEAL}:`))).toHaveLength(1);
    expect(killSwitch('crm')).toEqual([]);
    expect(firing('crm')).toEqual([]);
    expect(await db.query(`SELECT 1 FROM node_registry_organizations`)).toEqual([]);
    const audit = await db.query<{ scope: string; action: string }>(`SELECT scope, action FROM node_registry_audit WHERE node_type = $1 ORDER BY id`, [DEAL]);
    expect(audit).toEqual([{ scope: 'global', action: 'disable' }]);
    const log = await db.query<{ decision: string; scope: string }>(`SELECT decision, scope FROM alert_kill_switch_log ORDER BY id`);
    // the action-wide decision, then each failing organization's own breach standing aside once
    expect(log[0]).toEqual({ decision: 'done', scope: 'global' });
    expect(log.slice(1).every((l) => l.decision === 'deferred_global')).toBe(true);
  });

  it('two organizations failing: each one\'s own route pages its channel, an organization without a route pages organizationReceivers, a healthy routed one hears nothing', { timeout: 300_000 }, async () => {
    slack.messages.length = 0;
    const { db } = suite;
    // org-a has a channel of its own, org-b none (crm-oncall, the fallback), org-c has one but stays healthy
    const svc = await service({ 'org-a': ['cs-a'], 'org-c': ['cs-c'] });
    await svc.up();
    const s = svc.start;
    // org-a and org-b 10 calls a minute, all failing; the five others 10 a minute, all fine (the action: 29 % failing)
    const failing = new Set(['org-a', 'org-b']);
    const minute = (m: number) => ORGS.flatMap((org, k) => traffic(m + k * 1000, 10, failing.has(org) ? 10 : 0, DEAL, org));
    await svc.feed(perMinute(s, 15, minute), s + 17 * MIN);
    const off = () => db.query<{ organization_id: string }>(`SELECT organization_id FROM node_registry_organizations WHERE node_type = $1 AND enabled = false ORDER BY organization_id`, [DEAL]);
    await waitFor(async () => (await off()).length === 2, { timeoutMs: 60_000, what: 'both organization-scoped disables' });
    await outboxDrained(db);

    expect((await off()).map((r) => r.organization_id)).toEqual(['org-a', 'org-b']);
    expect((await readRegistry(db)).find((r) => r.node_type === DEAL)?.enabled).toBe(true);
    const csA = killSwitch('cs-a');
    expect(csA).toHaveLength(1);
    expect(csA[0]).toContain(`Disabled ${DEAL} for organization org-a (`);
    const crm = killSwitch('crm');
    expect(crm).toHaveLength(1);
    expect(crm[0]).toContain(`Disabled ${DEAL} for organization org-b (`);
    // the reason breakdown: per organization, its calls and its failure reasons
    for (const text of [...csA, ...crm]) expect(text).toMatch(/By organization \(failed\/completed\): org-a 100\/100 \(100\.0%: crm_\w+ 100\), org-b 100\/100 \(100\.0%: crm_\w+ 100\)/);
    const csABlocks = JSON.stringify(slack.for('cs-a').map((m) => m.body.blocks));
    expect(csABlocks).toContain('Failures by organization');
    expect(firing('cs-a').every((t) => !t.includes('organization_id=org-b'))).toBe(true);
    expect(firing('crm').every((t) => !t.includes('organization_id=org-a'))).toBe(true);
    expect(slackTexts(slack, 'cs-c')).toEqual([]);
    expect(killSwitch('bot')).toEqual([]);
    const outbox = await db.query<{ receiver: string }>(`SELECT DISTINCT receiver FROM alert_outbox WHERE kind = 'kill_switch' ORDER BY receiver`);
    expect(outbox.map((r) => r.receiver)).toEqual(['crm-oncall', 'cs-a']);
  });
});
