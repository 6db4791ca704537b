import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countsFromEvents, weeklyReview } from '../../../src/consumers/alerts/weekly-review.ts';
import { DEFAULT_RULES_PATH } from '../../../src/consumers/alerts/alert-rules.ts';
import { loadRateThresholds } from '../../../src/consumers/alerts/rate-thresholds.ts';
import type { ActionEvent } from '../../../src/events/index.ts';
import { failed, invoked, refreshFailed, T0 } from './engine-driver.ts';
import { buildEvent } from '../../../src/events/index.ts';
import { AuditTrailDecisions } from '../../../src/consumers/alerts/registry-decisions.ts';
import { migrateRegistry, setOrganizationEnabled, setProbing, setRegistryEnabled } from '../../../src/executors/registry-schema.ts';
import { openRegistryDb } from '../../../src/platform/registry-db.ts';

const SHIPPED = loadRateThresholds({ sloBurnRate: true });

const WEEK = 7 * 24 * 3600_000;
const executed = (ts: number): ActionEvent =>
  buildEvent({ event: 'qontak_action_executed', timestamp: ts, source: 'test', organization_id: 'o', node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: 'c', duration_ms: 5 });

function week(start: number, calls: number, failures: number, refreshFailures: number): ActionEvent[] {
  const out: ActionEvent[] = [];
  for (let i = 0; i < calls; i++) {
    out.push(invoked(start + i * 1000));
    out.push(i < failures ? failed(start + i * 1000 + 1, 'qontak_crm_deal_create', 'o', i % 2 ? 'empty_tags' : 'crm_server_error') : executed(start + i * 1000 + 1));
  }
  for (let i = 0; i < refreshFailures; i++) out.push(refreshFailed(start + 5000 + i, 'o'));
  return out;
}

describe('weekly review', () => {
  it('computes success rate, reason mix, volumes and raises both flags when things got worse', async () => {
    const events = [...week(T0 - WEEK, 100, 5, 1), ...week(T0, 100, 8, 3)];
    const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0, SHIPPED);
    expect(r.successRate).toBeCloseTo(92 / 100, 5);
    expect(r.failedRate).toBeCloseTo(0.08, 5);
    expect(r.previousFailedRate).toBeCloseTo(0.05, 5);
    expect(r.flags.map((f) => f.code)).toEqual(['failed_rate_up', 'token_refresh_failures_up']);
    expect(r.current.failedByReason).toEqual({ crm_server_error: 4, empty_tags: 4 });
    expect(r.markdown).toContain('| qontak_crm_deal_create | 100 | 100 | 92 | 8 | 8.0% | 0 |');
    expect(r.markdown).toContain('| qontak_chat_room_tag | 0 | 0 | 0 | 0 | n/a | 0 |');
    expect(JSON.stringify(r.slack.blocks)).toContain('crm_server_error');
  });

  it('raises no flag for a stable or better week (a 10% relative rise is not "more than 10%")', async () => {
    const events = [...week(T0 - WEEK, 100, 10, 2), ...week(T0, 100, 11, 2)];
    const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0, SHIPPED);
    expect(r.failedRate).toBeCloseTo(0.11, 5);
    expect(r.flags).toEqual([]);
    expect(r.markdown).toContain('- none');
  });

  it('leaves blocked calls out of every rate and shows them, and unknown outcomes, as their own counts', async () => {
    const fail = (ts: number, reason: 'registry_disabled' | 'crm_create_outcome_unknown') =>
      buildEvent({ event: 'qontak_action_failed', timestamp: ts, source: 'test', organization_id: 'o', node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: 'c', reason, duration_ms: 0 });
    const blockedCalls = Array.from({ length: 30 }, (_, i) => [invoked(T0 + 900_000 + i * 10), fail(T0 + 900_001 + i * 10, 'registry_disabled')]).flat();
    const unknown = [invoked(T0 + 950_000), fail(T0 + 950_001, 'crm_create_outcome_unknown')];
    const events = [...week(T0 - WEEK, 100, 5, 0), ...week(T0, 100, 5, 0), ...blockedCalls, ...unknown];
    const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0, SHIPPED);
    expect(r.current).toMatchObject({ invoked: 101, executed: 95, failed: 6, blocked: 30, unknownOutcome: 1 });
    expect(r.current.byNodeType.qontak_crm_deal_create).toEqual({ invoked: 101, executed: 95, failed: 6, blocked: 30 });
    expect(r.current.failedByReason).not.toHaveProperty('registry_disabled');
    expect(r.successRate).toBeCloseTo(95 / 101, 10);
    expect(r.failedRate).toBeCloseTo(6 / 101, 10);
    expect(r.markdown).toContain('- Blocked calls (action disabled; in no rate): 30 (last week 0)');
    expect(r.markdown).toContain('of which 1 with an unknown outcome');
    expect(r.markdown).toContain('| qontak_crm_deal_create | 101 | 101 | 95 | 6 | 5.9% | 30 |');
    expect(JSON.stringify(r.slack.blocks)).toContain('*Blocked calls*\\n30 (prev 0)');
  });

  it('divides failed by completed calls: calls invoked last week and failed this week keep the rate at or below 100 %, duplicates count once', async () => {
    const crossing = Array.from({ length: 20 }, (_, i) => [invoked(T0 - 60_000 + i), failed(T0 + 30_000 + i, 'qontak_crm_deal_create', 'o', 'crm_server_error')]).flat();
    const events = [...week(T0 - WEEK, 100, 5, 0), ...crossing, ...crossing.slice(20), executed(T0 + 99_000)];
    const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0, SHIPPED);
    // This week: no invocation at all, 20 failed and 1 executed call.
    expect(r.current).toMatchObject({ invoked: 0, executed: 1, failed: 20 });
    expect(r.failedRate).toBeCloseTo(20 / 21, 10);
    expect(r.successRate! + r.failedRate!).toBeCloseTo(1, 10);
    expect(r.markdown).toContain('| qontak_crm_deal_create | 0 | 21 | 1 | 20 | 95.2% | 0 |');
  });

  it('states the alert threshold and SLO target of the rules file it is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'review-rules-'));
    try {
      const rules = JSON.parse(readFileSync(DEFAULT_RULES_PATH, 'utf8')) as { rules: { id: string; threshold: number; recoveryThreshold?: number }[] };
      for (const rule of rules.rules) if (rule.id === 'failure-rate-1h') Object.assign(rule, { threshold: 0.25, recoveryThreshold: 0.25 });
      writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
      const events = [...week(T0 - WEEK, 100, 5, 0), ...week(T0, 100, 5, 0)];
      const provider = { weekCounts: async (from: number, to: number) => countsFromEvents(events, from, to) };
      expect((await weeklyReview(provider, T0, SHIPPED)).markdown).toContain('failure-rate alert threshold 10.0%');
      const changed = await weeklyReview(provider, T0, loadRateThresholds({ rulesFile: join(dir, 'rules.json'), sloBurnRate: true }));
      expect(changed.markdown).toContain('failure-rate alert threshold 25.0%');
      expect(changed.markdown).toContain('SLO target 97.0%');
      expect(changed.thresholds.failureRateAlert).toBe(0.25);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts and lists the automatic recovery: its probe rounds (one ended by a failed probe), its re-enable, and a cycle ended by dry run', async () => {
    const db = await openRegistryDb({ memory: true });
    try {
      await migrateRegistry(db);
      const DEAL = 'qontak_crm_deal_update';
      const recovery = { actor: 'alert:recovery' };
      await setRegistryEnabled(db, DEAL, false, { actor: 'alert:sustained-failure-kill-switch', reason: 'failure rate 60.0% > 20%' });
      await setProbing(db, DEAL, null, 10, { ...recovery, reason: 'cool-down of 30 min over' });
      await setProbing(db, DEAL, null, null, { ...recovery, reason: 'probe failed (crm_server_error) after 2 successful', details: { kind: 'probe_failed' } });
      await setProbing(db, DEAL, null, 10, { ...recovery, reason: 'cool-down of 60 min over' });
      await setRegistryEnabled(db, DEAL, true, { ...recovery, reason: '5 probes in a row succeeded: re-enabled automatically' });
      await setRegistryEnabled(db, DEAL, false, { actor: 'alert:sustained-failure-kill-switch', reason: 'failure rate 40.0% > 20%' });
      await setProbing(db, DEAL, null, null, { ...recovery, reason: 'dry run is on: the automatic recovery stops here', details: { kind: 'dry_run' } });
      const ids = (await db.query<{ id: string }>(`SELECT id FROM node_registry_audit ORDER BY id`)).map((r) => r.id);
      for (const [i, id] of ids.entries()) await db.query(`UPDATE node_registry_audit SET created_at = $2 WHERE id = $1`, [id, new Date(T0 + (i + 1) * 3_600_000).toISOString()]);

      const events = [...week(T0 - WEEK, 100, 5, 0), ...week(T0, 100, 5, 0)];
      const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0, SHIPPED, new AuditTrailDecisions(db));
      expect(r.decisions.list.map((d) => [d.action, d.actor])).toEqual([
        ['disable', 'alert:sustained-failure-kill-switch'],
        ['probe', 'alert:recovery'],
        ['probe_end', 'alert:recovery'],
        ['probe', 'alert:recovery'],
        ['enable', 'alert:recovery'],
        ['disable', 'alert:sustained-failure-kill-switch'],
        ['probe_end', 'alert:recovery'],
      ]);
      expect(r.decisions.counts).toEqual({
        disables: { global: 2, organization: 0, automatic: 2 },
        enables: { global: 1, organization: 0, automatic: 1 },
        probeRounds: { started: 2, failed: 1, endedByDryRun: 1 },
      });
      expect(r.markdown).toContain('- Re-enables: 1 global, 0 for one organization (1 automatic, 0 by hand)');
      expect(r.markdown).toContain('- Probe rounds of the automatic recovery: 2 started, 1 ended by a failed probe (the switch stayed off); 1 cycles ended by dry run (off until re-enabled by hand)');
      expect(r.markdown).toContain(`| probe_end | ${DEAL} | global (everyone) | alert:recovery | probe failed (crm_server_error) after 2 successful |`);
    } finally {
      await db.close();
    }
  });

  it('counts and lists the week\'s disables and re-enables from the audit trail: global or for one organization, automatic or by hand', async () => {
    const db = await openRegistryDb({ memory: true });
    try {
      await migrateRegistry(db);
      const DEAL = 'qontak_crm_deal_update';
      const auto = { actor: 'alert:sustained-failure-kill-switch', reason: 'failure rate 100.0% > 20% sustained for 1440 min (concentrated)' };
      await setOrganizationEnabled(db, DEAL, 'org-a', false, auto);
      await setRegistryEnabled(db, 'qontak_chat_room_tag', false, { ...auto, reason: 'failure rate 60.0% > 20% sustained for 1440 min (spread across organizations)' });
      await setOrganizationEnabled(db, DEAL, 'org-a', true, { actor: 'admin:cs', reason: 'token | fixed' });
      await setRegistryEnabled(db, DEAL, false, { actor: 'admin:dina', reason: 'the week before' });
      // Written in this order: three this week (an hour apart), the fourth the week before.
      const ids = (await db.query<{ id: string }>(`SELECT id FROM node_registry_audit ORDER BY id`)).map((r) => r.id);
      const at = [T0 + 3_600_000, T0 + 7_200_000, T0 + 10_800_000, T0 - 3_600_000];
      for (const [i, id] of ids.entries()) await db.query(`UPDATE node_registry_audit SET created_at = $2 WHERE id = $1`, [id, new Date(at[i]).toISOString()]);

      const events = [...week(T0 - WEEK, 100, 5, 0), ...week(T0, 100, 5, 0)];
      const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents(events, from, to) }, T0, SHIPPED, new AuditTrailDecisions(db));
      expect(r.decisions.list.map((d) => [d.action, d.node_type, d.scope, d.organization_id, d.automatic])).toEqual([
        ['disable', DEAL, 'organization', 'org-a', true],
        ['disable', 'qontak_chat_room_tag', 'global', null, true],
        ['enable', DEAL, 'organization', 'org-a', false],
      ]);
      expect(r.decisions.counts).toEqual({ disables: { global: 1, organization: 1, automatic: 2 }, enables: { global: 0, organization: 1, automatic: 0 }, probeRounds: { started: 0, failed: 0, endedByDryRun: 0 } });
      expect(r.markdown).toContain('- Disables: 1 global, 1 for one organization (2 automatic, 0 by hand)');
      expect(r.markdown).toContain('- Re-enables: 0 global, 1 for one organization (0 automatic, 1 by hand)');
      const day = new Date(T0).toISOString().slice(0, 10);
      expect(r.markdown).toContain(`| ${day} 01:00 | disable | ${DEAL} | organization org-a | alert:sustained-failure-kill-switch | ${auto.reason} |`);
      expect(r.markdown).toContain(`| ${day} 02:00 | disable | qontak_chat_room_tag | global (everyone) |`);
      expect(r.markdown).toContain('| admin:cs | token \\| fixed |');
      expect(r.markdown).not.toContain('admin:dina');
      const digest = JSON.stringify(r.slack.blocks);
      expect(digest).toContain(`\`${DEAL}\` organization org-a by alert:sustained-failure-kill-switch`);
      expect(digest).toContain('`qontak_chat_room_tag` global (everyone)');
    } finally {
      await db.close();
    }
  });

  it('without a registry the review lists no decisions and says so', async () => {
    const r = await weeklyReview({ weekCounts: async (from, to) => countsFromEvents([], from, to) }, T0, SHIPPED);
    expect(r.decisions.list).toEqual([]);
    expect(r.markdown).toContain('- Disables: 0 global, 0 for one organization (0 automatic, 0 by hand)');
  });
});
