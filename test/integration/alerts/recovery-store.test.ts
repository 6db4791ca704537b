import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertStore } from '../../../src/consumers/alerts/alert-store.ts';
import { DEFAULT_RECOVERY, loadRulesFile, type RecoveryConfig } from '../../../src/consumers/alerts/alert-rules.ts';
import { readAnnotations } from '../../../src/consumers/alerts/annotations.ts';
import { WebhookNotifier } from '../../../src/consumers/alerts/notifiers/webhook-notifier.ts';
import { OutboxDispatcher } from '../../../src/consumers/alerts/outbox-dispatcher.ts';
import { startRecovery } from '../../../src/consumers/alerts/recovery-store.ts';
import { RecoveryTracker } from '../../../src/consumers/alerts/recovery.ts';
import { setOrganizationEnabled } from '../../../src/executors/registry-schema.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { FakeWebhook } from '../../fakes/fake-webhook.ts';
import { waitFor } from '../../helpers/kafka.ts';
import { MIN } from '../../unit/alerts/engine-driver.ts';
import { freshRegistryDb } from './alerts-harness.ts';

/**
 * The automatic recovery's steps as the store persists them in PostgreSQL (alert_recovery, the registry, its audit
 * trail, the outbox), driven by the recovery tracker as the evaluator drives it: the webhook's Idempotency-Key per
 * decision, dry run, and the dashboard's annotations of the steps.
 */
describe('kill-switch recovery through the store', () => {
  const SECRET = 'webhook-secret-for-tests';
  const DEAL = 'qontak_crm_deal_create';
  const HOUR = 60 * MIN;
  const rules = loadRulesFile();
  const ks = rules.rules.find((r) => r.action === 'disable_node_type')!;
  const config: RecoveryConfig = { ...DEFAULT_RECOVERY, successesToReEnable: 1 };
  const hook = new FakeWebhook(SECRET);
  let registry: Awaited<ReturnType<typeof freshRegistryDb>>;
  beforeAll(async () => {
    registry = await freshRegistryDb();
    await hook.start();
  });
  afterAll(async () => {
    await hook.stop();
    await registry?.drop();
  });
  beforeEach(async () => {
    const { db } = registry;
    for (const table of ['alert_recovery', 'alert_outbox', 'node_registry_organizations', 'node_registry_audit']) await db.query(`DELETE FROM ${table}`);
    await db.query(`UPDATE node_registries SET enabled = true, probe_every = NULL`);
  });

  const storeWith = (dryRun: boolean) =>
    new AlertStore(registry.db, {
      routes: { 'bot-oncall': ['hook'], 'crm-oncall': ['hook'] },
      dashboardBaseUrl: 'http://dash.test',
      killSwitch: { dryRun, maxPer24h: 2, capWindowMs: 24 * HOUR, blastRadius: rules.blastRadius, recovery: config, minuteMs: MIN },
      rules: rules.rules,
    });

  /** Every step decidable through `through`, persisted by `store` and committed as the evaluator does. */
  async function decide(store: AlertStore, tracker: RecoveryTracker, through: number) {
    const taken = [];
    for (const step of tracker.decide(through)) {
      const r = await store.applyRecovery(step);
      tracker.commit(r.state);
      taken.push({ step: step.step, phase: r.state.phase, won: r.won });
    }
    return taken;
  }

  /** The kill switch's disable of a switch at `at`: the registry flag and the cycle, as its transaction writes them. */
  async function disable(tracker: RecoveryTracker, at: number, organizationId: string | null = null) {
    const { db } = registry;
    if (organizationId === null) await db.query(`UPDATE node_registries SET enabled = false WHERE node_type = $1`, [DEAL]);
    else await setOrganizationEnabled(db, DEAL, organizationId, false, { actor: `alert:${ks.id}`, reason: 'failing' });
    const started = await db.transaction((tx) => startRecovery(tx, config, MIN, { nodeType: DEAL, organizationId, ruleId: ks.id, scopeKey: `node_type=${DEAL}`, episode: 1, at }));
    tracker.commit(started!);
  }

  const probe = (at: number, organizationId = 'org-a', ok = true) => ({ at, eventId: `probe-${organizationId}-${at}`, organizationId, ok });

  it('two automatic re-enables in one episode reach a webhook receiver once each, the one whose answer was lost included, and a restart adds none', { timeout: 120_000 }, async () => {
    const { db } = registry;
    const T = Math.floor(Date.now() / MIN) * MIN - 12 * HOUR;
    const store = storeWith(false);
    const tracker = new RecoveryTracker(config, MIN);
    // two cycles of the action's switch in episode 1 of its alert, each re-enabled by one successful probe after its
    // cool-down (30 min, then 60: disabled again within a day of its re-enable)
    for (const at of [T, T + 5 * HOUR]) {
      await disable(tracker, at);
      tracker.probe(DEAL, probe(at + 70 * MIN));
      await decide(store, tracker, at + 80 * MIN);
    }
    expect(await db.query(`SELECT cycle, phase FROM alert_recovery WHERE node_type = $1`, [DEAL])).toEqual([{ cycle: 2, phase: 'reenabled' }]);
    // a restart: a new tracker from the persisted state reads the second cycle's probe again and decides nothing new
    const rebuilt = new RecoveryTracker(config, MIN);
    rebuilt.restore(await store.loadRecovery());
    rebuilt.probe(DEAL, probe(T + 5 * HOUR + 70 * MIN));
    expect(await decide(store, rebuilt, T + 6 * HOUR)).toEqual([]);

    // The receiver acts on the first re-enable but its answer is lost: the outbox sends it again, with its key.
    hook.lostAnswers.push(503);
    const dispatcher = new OutboxDispatcher({
      db,
      notifiers: { hook: new WebhookNotifier({ name: 'hook', url: hook.url, secret: SECRET }) },
      logger: silentLogger,
      retry: { initialMs: 10, maxMs: 50, multiplier: 2 },
    });
    await waitFor(
      async () => {
        await dispatcher.deliverDue();
        const [{ n }] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM alert_outbox WHERE status = 'pending'`);
        return Number(n) === 0;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'the outbox worked through' },
    );
    await dispatcher.stop();
    expect(await db.query(`SELECT kind, status FROM alert_outbox ORDER BY id`)).toEqual([
      { kind: 'recovery', status: 'sent' },
      { kind: 'recovery', status: 'sent' },
    ]);
    const keys = hook.requests.map((r) => [r.idempotencyKey, r.status]);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toEqual([keys[1][0], 503]);
    expect(keys[1][1]).toBe(200);
    expect(keys[2][1]).toBe(200);
    expect(new Set(keys.map(([k]) => k)).size).toBe(2);
    expect(hook.processed.map((p) => (p.notification.recovery as { cycle: number }).cycle)).toEqual([1, 2]);
  });

  describe('dry run turned on while a cycle runs', () => {
    const registryRow = async () =>
      (await registry.db.query<{ enabled: boolean; probe_every: number | null }>(`SELECT enabled, probe_every FROM node_registries WHERE node_type = $1`, [DEAL]))[0];
    const recoveryRow = async () =>
      (await registry.db.query<{ phase: string; ended_by: string | null; ended_at: string | null }>(`SELECT phase, ended_by, ended_at FROM alert_recovery WHERE node_type = $1`, [DEAL]))[0];
    const trail = async () => registry.db.query<{ action: string; actor: string; reason: string }>(`SELECT action, actor, reason FROM node_registry_audit WHERE node_type = $1 ORDER BY id`, [DEAL]);

    it('a cooling cycle ends where its probes would start: the switch stays off without probes, the end is in the audit trail, nothing is notified', async () => {
      const T = Math.floor(Date.now() / MIN) * MIN - 12 * HOUR;
      const tracker = new RecoveryTracker(config, MIN);
      await disable(tracker, T);
      const taken = await decide(storeWith(true), tracker, T + 40 * MIN);
      expect(taken).toEqual([{ step: 'probing', phase: 'ended', won: true }]);
      expect(await recoveryRow()).toEqual({ phase: 'ended', ended_by: 'dry_run', ended_at: String(T + 30 * MIN) });
      expect(await registryRow()).toEqual({ enabled: false, probe_every: null });
      const [end] = await trail();
      expect(end).toMatchObject({ action: 'probe_end', actor: 'alert:recovery' });
      expect(end.reason).toContain('dry run');
      // nothing more is decided for it, later probes included
      tracker.probe(DEAL, probe(T + 50 * MIN));
      expect(await decide(storeWith(true), tracker, T + 2 * HOUR)).toEqual([]);
      expect(await decide(storeWith(false), tracker, T + 3 * HOUR)).toEqual([]);
      expect(await registry.db.query(`SELECT 1 FROM alert_outbox`)).toEqual([]);
    });

    it('a probing cycle ends at its next probe: the gate stops letting probes through and the switch stays off', async () => {
      const T = Math.floor(Date.now() / MIN) * MIN - 12 * HOUR;
      const tracker = new RecoveryTracker(config, MIN);
      await disable(tracker, T);
      expect(await decide(storeWith(false), tracker, T + 40 * MIN)).toEqual([{ step: 'probing', phase: 'probing', won: true }]);
      expect(await registryRow()).toEqual({ enabled: false, probe_every: config.probeEvery });
      tracker.probe(DEAL, probe(T + 45 * MIN));
      expect(await decide(storeWith(true), tracker, T + 50 * MIN)).toEqual([{ step: 'reenable', phase: 'ended', won: true }]);
      expect(await registryRow()).toEqual({ enabled: false, probe_every: null });
      expect(await recoveryRow()).toMatchObject({ phase: 'ended', ended_by: 'dry_run', ended_at: String(T + 45 * MIN) });
      expect((await trail()).map((a) => a.action)).toEqual(['probe', 'probe_end']);
    });
  });

  it("a probe round and an automatic re-enable show among the dashboard's annotations, each under its organization", async () => {
    const { db } = registry;
    const T = Math.floor(Date.now() / MIN) * MIN - 12 * HOUR;
    const store = storeWith(false);
    const tracker = new RecoveryTracker(config, MIN);
    await disable(tracker, T, 'org-a');
    await decide(store, tracker, T + 40 * MIN);
    tracker.probe(DEAL, probe(T + 45 * MIN, 'org-a'));
    await decide(store, tracker, T + 50 * MIN);
    const range = { fromMs: T - HOUR, toMs: T + 2 * HOUR };
    const changes = async (organizationId?: string) =>
      (await readAnnotations(db, { ...range, ...(organizationId ? { organizationId } : {}) }, Date.now())).filter((a) => a.actor === 'alert:recovery');
    const forA = await changes('org-a');
    expect(forA.map((a) => [a.kind, a.title, a.node_type, a.organization_id, a.start_ms])).toEqual([
      ['registry_change', 'probe', DEAL, 'org-a', T + 30 * MIN],
      ['registry_change', 'enable (automatic)', DEAL, 'org-a', T + 45 * MIN],
    ]);
    expect(forA[0].detail).toContain(`probe: ${DEAL} for org-a by alert:recovery — cool-down of 30 min over`);
    expect(forA[1].detail).toContain(`enable (automatic): ${DEAL} for org-a by alert:recovery — 1 probes in a row succeeded`);
    expect(Object.fromEntries(new URL(forA[1].url, 'http://dash.test').searchParams)).toMatchObject({ node_type: DEAL, organization_id: 'org-a' });
    expect(await changes('org-b')).toEqual([]);
    expect(await changes()).toEqual(forA);
  });
});
