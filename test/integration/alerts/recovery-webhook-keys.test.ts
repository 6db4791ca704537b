import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertStore } from '../../../src/consumers/alerts/alert-store.ts';
import { DEFAULT_RECOVERY, loadRulesFile, type RecoveryConfig } from '../../../src/consumers/alerts/alert-rules.ts';
import { WebhookNotifier } from '../../../src/consumers/alerts/notifiers/webhook-notifier.ts';
import { OutboxDispatcher } from '../../../src/consumers/alerts/outbox-dispatcher.ts';
import { startRecovery } from '../../../src/consumers/alerts/recovery-store.ts';
import { RecoveryTracker } from '../../../src/consumers/alerts/recovery.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { FakeWebhook } from '../../fakes/fake-webhook.ts';
import { waitFor } from '../../helpers/kafka.ts';
import { MIN, T0 } from '../../unit/alerts/engine-driver.ts';
import { freshRegistryDb } from './alerts-harness.ts';

/**
 * The signed webhook's Idempotency-Key names one decision: two automatic re-enables of one switch within one alert
 * episode (the kill switch disabled it again after the first) are two keys, so a receiver that drops repeated keys
 * acts on both; a re-delivery of one (its answer lost, or the decision read again after a restart) repeats its key,
 * so the receiver acts on it once. Through PostgreSQL (the store's steps, the outbox) and a local webhook receiver.
 */
describe('webhook Idempotency-Key of automatic re-enables', () => {
  const SECRET = 'webhook-secret-for-tests';
  const DEAL = 'qontak_crm_deal_create';
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

  it('two re-enables in one episode reach the receiver once each, the one whose answer was lost included, and a restart adds none', { timeout: 120_000 }, async () => {
    const { db } = registry;
    const rules = loadRulesFile();
    const config: RecoveryConfig = { ...DEFAULT_RECOVERY, successesToReEnable: 1 };
    const killSwitch = { dryRun: false, maxPer24h: 2, capWindowMs: 24 * 60 * MIN, blastRadius: rules.blastRadius, recovery: config, minuteMs: MIN };
    const store = new AlertStore(db, { routes: { 'bot-oncall': ['hook'] }, dashboardBaseUrl: 'http://dash.test', killSwitch, rules: rules.rules });
    const ks = rules.rules.find((r) => r.action === 'disable_node_type')!;
    const tracker = new RecoveryTracker(config, MIN);
    const decide = async (t: RecoveryTracker, through: number) => {
      for (const step of t.decide(through)) t.commit((await store.applyRecovery(step)).state);
    };
    // The kill switch's disable (the registry row and the cycle it starts, as its transaction writes them), then a
    // probing round whose one successful probe re-enables; twice, in episode 1 of the action's alert.
    const cycleAt = async (at: number) => {
      await db.query(`UPDATE node_registries SET enabled = false WHERE node_type = $1`, [DEAL]);
      const started = await db.transaction((tx) => startRecovery(tx, config, MIN, { nodeType: DEAL, organizationId: null, ruleId: ks.id, scopeKey: `node_type=${DEAL}`, episode: 1, at }));
      tracker.commit(started!);
      // after the cool-down: 30 min, or 60 for the second cycle (disabled again within a day of its re-enable)
      tracker.probe(DEAL, { at: at + 70 * MIN, eventId: `probe-${at}`, organizationId: 'org-a', ok: true });
      await decide(tracker, at + 80 * MIN);
    };
    await cycleAt(T0);
    await cycleAt(T0 + 5 * 60 * MIN);
    const cycles = await db.query<{ cycle: number; phase: string }>(`SELECT cycle, phase FROM alert_recovery WHERE node_type = $1`, [DEAL]);
    expect(cycles).toEqual([{ cycle: 2, phase: 'reenabled' }]);

    // A restart: a new tracker from the persisted state reads the second cycle's probe again and decides nothing new.
    const rebuilt = new RecoveryTracker(config, MIN);
    rebuilt.restore(await store.loadRecovery());
    rebuilt.probe(DEAL, { at: T0 + 5 * 60 * MIN + 70 * MIN, eventId: `probe-${T0 + 5 * 60 * MIN}`, organizationId: 'org-a', ok: true });
    await decide(rebuilt, T0 + 6 * 60 * MIN);

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
    const rows = await db.query<{ kind: string; status: string }>(`SELECT kind, status FROM alert_outbox ORDER BY id`);
    expect(rows).toEqual([
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
});
