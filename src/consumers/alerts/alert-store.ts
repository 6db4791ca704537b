import type { SqlDb, SqlTx } from '../../platform/registry-db.ts';
import type { Transition } from './alert-engine.ts';
import { recordEpisode } from './alert-episodes.ts';
import { buildNotification, dedupKeyOf, type AlertNotification, type NotificationKind } from './alert-notification.ts';
import { organizationReceiversOf, type AlertRule } from './alert-rules.ts';
import { decideKillSwitch, type KillSwitchOptions, type KillSwitchOutcome } from './kill-switch.ts';
import { notificationLinks } from '../clickhouse/dashboard-links.ts';
import type { RecoveryState, RecoveryStep } from './recovery.ts';
import { applyRecoveryToRegistry, loadRecoveryState, loadRecoveryStates, probesText, switchLabel, writeRecovery } from './recovery-store.ts';
import type { ActionStatus, AlertState, AlertStatus } from './rule-state-machine.ts';
import { activeSilenceFor } from './silence-store.ts';
import { pageRouteOfTrigger } from './page-route.ts';

/**
 * Persists transitions. The database is the arbiter between instances: a transition is written with a
 * compare-and-set on the row version, and its notifications go into the outbox in the same
 * transaction under a unique transition key. Whoever loses the race writes nothing and adopts the
 * winner's state — so one transition is paged exactly once, however many evaluators saw it.
 */
export interface StoreOptions {
  /** Logical receiver (rules file) → the channels (notifier names) that serve it. */
  routes: Record<string, string[]>;
  dashboardBaseUrl: string;
  killSwitch: KillSwitchOptions;
  /** The kill-switch rules by id: an automatic re-enable is told in the words of the rule that disabled. */
  rules?: readonly AlertRule[];
}

type StateRow = {
  rule_id: string;
  scope_key: string;
  scope: Record<string, string>;
  status: AlertStatus;
  pending_since: string | null;
  firing_since: string | null;
  recovering_since: string | null;
  last_notified_at: string | null;
  last_eval_at: string | null;
  last_value: number | null;
  episode: number;
  repeats: number;
  action_status: ActionStatus;
  action_at: string | null;
  quiet_since: string | null;
  version: number;
};

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

function fromRow(r: StateRow): AlertState {
  return {
    ruleId: r.rule_id,
    scopeKey: r.scope_key,
    scope: r.scope,
    status: r.status,
    pendingSince: num(r.pending_since),
    firingSince: num(r.firing_since),
    recoveringSince: num(r.recovering_since),
    lastNotifiedAt: num(r.last_notified_at),
    lastEvalAt: num(r.last_eval_at),
    lastValue: r.last_value,
    episode: r.episode,
    repeats: r.repeats,
    actionStatus: r.action_status,
    actionAt: num(r.action_at),
    quietSince: num(r.quiet_since),
    version: r.version,
  };
}

export interface ApplyResult {
  /** The state now in the database (ours, or the winner's). */
  state: AlertState;
  won: boolean;
  notifications: number;
  /** Recovery cycles a disable in this transition started (the engine follows them from there). */
  recovery: RecoveryState[];
}

export interface RecoveryApplyResult {
  /** The recovery state now in the database (the step's, or what another instance or a person left there). */
  state: RecoveryState;
  won: boolean;
  notifications: number;
}

export class AlertStore {
  constructor(
    readonly db: SqlDb,
    private readonly o: StoreOptions,
  ) {}

  async loadStates(): Promise<AlertState[]> {
    return (await this.db.query<StateRow>(`SELECT * FROM alert_state`)).map(fromRow);
  }

  async loadState(ruleId: string, scopeKey: string): Promise<AlertState | undefined> {
    const rows = await this.db.query<StateRow>(`SELECT * FROM alert_state WHERE rule_id = $1 AND scope_key = $2`, [ruleId, scopeKey]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async loadCheckpoint(id: string): Promise<number | null> {
    return (await this.loadProgress(id))?.evaluatedThrough ?? null;
  }

  /** The event time evaluated through and, per partition, the next offset whose events were decided on. */
  async loadProgress(id: string): Promise<{ evaluatedThrough: number; offsets: Record<string, string> } | null> {
    const rows = await this.db.query<{ evaluated_through: string; offsets: Record<string, string> | null }>(
      `SELECT evaluated_through, offsets FROM alert_checkpoint WHERE id = $1`,
      [id],
    );
    return rows[0] ? { evaluatedThrough: Number(rows[0].evaluated_through), offsets: rows[0].offsets ?? {} } : null;
  }

  async saveCheckpoint(id: string, evaluatedThrough: number, offsets?: Record<string, string>): Promise<void> {
    await this.db.query(
      `INSERT INTO alert_checkpoint (id, evaluated_through, offsets) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (id) DO UPDATE SET evaluated_through = GREATEST(alert_checkpoint.evaluated_through, EXCLUDED.evaluated_through),
         offsets = COALESCE(EXCLUDED.offsets, alert_checkpoint.offsets), updated_at = now()`,
      [id, Number.isFinite(evaluatedThrough) ? evaluatedThrough : 0, offsets ? JSON.stringify(offsets) : null],
    );
  }

  /**
   * Lowers the evaluated-through instant to at most `maxEvaluatedThrough` (saveCheckpoint only ever raises it): the
   * repair of a checkpoint that an event dated in the future pushed ahead of the clock.
   */
  async clampCheckpoint(id: string, maxEvaluatedThrough: number): Promise<void> {
    await this.db.query(`UPDATE alert_checkpoint SET evaluated_through = LEAST(evaluated_through, $2), updated_at = now() WHERE id = $1`, [id, maxEvaluatedThrough]);
  }

  /**
   * The SLO rule's window figures per scope (the error budget the dashboard shows): `calls` are the completed calls
   * in the window (executed + failed, blocked calls left out), `failures` the failed ones among them, and
   * `allowedFailureRate` the rule's threshold, saved beside them so the API never reads a threshold elsewhere.
   */
  async saveErrorBudget(
    ruleId: string,
    windowMinutes: number,
    allowedFailureRate: number,
    asOf: number,
    rows: { scopeKey: string; scope: Record<string, string>; calls: number; failures: number; blocked: number }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const r of rows) {
        await tx.query(
          `INSERT INTO alert_error_budget (rule_id, scope_key, scope, window_minutes, allowed_failure_rate, calls, failures, blocked, as_of)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (rule_id, scope_key) DO UPDATE SET scope = EXCLUDED.scope, window_minutes = EXCLUDED.window_minutes,
             allowed_failure_rate = EXCLUDED.allowed_failure_rate, calls = EXCLUDED.calls, failures = EXCLUDED.failures,
             blocked = EXCLUDED.blocked, as_of = EXCLUDED.as_of, updated_at = now()
           WHERE alert_error_budget.as_of <= EXCLUDED.as_of`,
          [ruleId, r.scopeKey, JSON.stringify(r.scope), windowMinutes, allowedFailureRate, r.calls, r.failures, r.blocked, asOf],
        );
      }
    });
  }

  async apply(t: Transition): Promise<ApplyResult> {
    const result = await this.db.transaction(async (tx) => {
      const next = { ...t.next };
      const written = await this.compareAndSet(tx, t.prev.version, next);
      if (!written) return undefined;
      let notifications = 0;
      // Decided before any message is queued: where the trigger goes depends on the decision's scope.
      const decided = t.effects.includes('action') ? await decideKillSwitch(this.db.kind, tx, t, this.o.killSwitch) : undefined;
      for (const effect of t.effects) {
        await recordEpisode(tx, t, effect);
        if (effect === 'action') {
          const ks = decided!;
          const status: ActionStatus = ks.decision;
          // A grace postponement is announced once per episode, not on every minute it is retried.
          const announce = !(ks.decision === 'waiting_grace' && t.prev.actionStatus === 'waiting_grace') && ks.decision !== 'deferred_global';
          next.actionStatus = status;
          if (ks.decision === 'done' || ks.decision === 'already_disabled') next.actionAt = t.at;
          await tx.query(`UPDATE alert_state SET action_status = $3, action_at = $4 WHERE rule_id = $1 AND scope_key = $2`, [next.ruleId, next.scopeKey, status, next.actionAt]);
          if (announce && ks.decision !== 'already_disabled') {
            const n = buildNotification(t, 'kill_switch', { dashboardBaseUrl: this.o.dashboardBaseUrl }, ks);
            // Keyed by the decision's instant too: after a re-enable the same episode may disable a second time. An
            // organization-scoped decision pages the organizations' receivers, a global one the rule's.
            const receivers = ks.scope === 'organization' ? organizationReceiversOf(this.o.killSwitch.blastRadius, ks.organizations) : t.rule.receivers;
            notifications += await this.enqueue(tx, n, `ks:${ks.decision}:${t.at}`, receivers, t.rule.inhibitWhenDisabled);
          }
          continue;
        }
        const routed = effect === 'trigger' ? pageRouteOfTrigger(t, this.o.killSwitch.blastRadius) : undefined;
        const n = buildNotification(t, effect, { dashboardBaseUrl: this.o.dashboardBaseUrl }, undefined, routed?.told);
        const receivers = routed ? routed.receivers : await this.receiversOf(tx, t, effect, decided);
        notifications += await this.enqueue(tx, n, effect === 'repeat' ? `repeat:${t.next.repeats}` : effect, receivers, t.rule.inhibitWhenDisabled);
      }
      return { state: { ...next, version: next.version }, won: true, notifications, recovery: decided?.recovery ?? [] };
    });
    if (result) return result;
    const current = await this.loadState(t.next.ruleId, t.next.scopeKey);
    return { state: current ?? t.prev, won: false, notifications: 0, recovery: [] };
  }

  async loadRecovery(): Promise<RecoveryState[]> {
    return loadRecoveryStates(this.db);
  }

  /**
   * Persists one recovery step with its registry change, audit row and (for a re-enable) the notification, in one
   * transaction and only if the row is still the one the engine read; otherwise returns what is there now.
   */
  async applyRecovery(step: RecoveryStep): Promise<RecoveryApplyResult> {
    const result = await this.db.transaction(async (tx) => {
      const current = await loadRecoveryState(tx, step.prev.nodeType, step.prev.organizationId, true);
      if (current?.version !== step.prev.version) return undefined;
      const next = await applyRecoveryToRegistry(this.db.kind, tx, step, { config: this.o.killSwitch.recovery, dryRun: this.o.killSwitch.dryRun });
      const written = await writeRecovery(tx, step.prev.version, next);
      if (!written) return undefined;
      let notifications = 0;
      if (step.step === 'reenable' && written.phase === 'reenabled') {
        const n = this.recoveryNotification(written, step.at);
        // The disable's receivers: the rule's for the action's switch, the organization's route for its own.
        const receivers = written.organizationId === null ? this.ruleOf(written.ruleId)?.receivers ?? [] : organizationReceiversOf(this.o.killSwitch.blastRadius, [written.organizationId]);
        notifications += await this.enqueue(tx, n, `recovery:${written.organizationId ?? '*'}:${written.cycle}`, receivers, false);
      }
      return { state: written, won: true, notifications };
    });
    if (result) return result;
    const now = await loadRecoveryState(this.db, step.prev.nodeType, step.prev.organizationId);
    return { state: now ?? step.prev, won: false, notifications: 0 };
  }

  private ruleOf(ruleId: string): AlertRule | undefined {
    return this.o.rules?.find((r) => r.id === ruleId);
  }

  private recoveryNotification(s: RecoveryState, at: number): AlertNotification {
    const rule = this.ruleOf(s.ruleId);
    const scope: Record<string, string> = s.organizationId === null ? { node_type: s.nodeType } : { node_type: s.nodeType, organization_id: s.organizationId };
    const windowMs = (rule?.windowMinutes ?? 60) * 60_000;
    const { dashboardUrl } = notificationLinks({ dashboardBaseUrl: this.o.dashboardBaseUrl }, { scope, atMs: at, windowMs, sinceMs: s.disabledAt });
    const message =
      `Re-enabled ${switchLabel(s)} automatically: ${s.probes.length} probes in a row succeeded (${probesText(s.probes)}). ` +
      `Disabled ${new Date(s.disabledAt).toISOString()}, cycle ${s.cycle}, ${s.rounds} failed probe round${s.rounds === 1 ? '' : 's'} before. ` +
      `The grace period before another automatic disable starts now.`;
    return {
      kind: 'recovery',
      ruleId: s.ruleId,
      title: rule?.title ?? s.ruleId,
      severity: rule?.severity ?? 'critical',
      scope,
      scopeKey: s.scopeKey,
      dedupKey: dedupKeyOf(s.ruleId, s.scopeKey),
      episode: s.episode,
      ruleKind: 'ratio',
      value: 0,
      threshold: rule?.threshold ?? 0,
      numerator: 0,
      denominator: s.probes.length,
      windowMinutes: rule?.windowMinutes ?? 0,
      at,
      topReasons: [],
      dashboardUrl,
      recovery: {
        nodeType: s.nodeType,
        scope: s.organizationId === null ? 'global' : 'organization',
        organizationId: s.organizationId,
        message,
        probes: s.probes.map((p) => ({ at: p.at, ok: p.ok, organizationId: p.organizationId, ...(p.reason ? { reason: p.reason } : {}) })),
        cycle: s.cycle,
        failedRounds: s.rounds,
        disabledAt: s.disabledAt,
      },
    };
  }

  /** Writes `next` only if the row still has the version this instance read; bumps the version. */
  private async compareAndSet(tx: SqlTx, expected: number, next: AlertState): Promise<boolean> {
    const values = [
      next.ruleId,
      next.scopeKey,
      JSON.stringify(next.scope),
      next.status,
      next.pendingSince,
      next.firingSince,
      next.recoveringSince,
      next.lastNotifiedAt,
      next.lastEvalAt,
      next.lastValue,
      next.episode,
      next.repeats,
      next.actionStatus,
      expected + 1,
      next.actionAt,
      next.quietSince,
    ];
    let rows;
    if (expected === 0) {
      rows = await tx.query(
        `INSERT INTO alert_state (rule_id, scope_key, scope, status, pending_since, firing_since, recovering_since, last_notified_at,
           last_eval_at, last_value, episode, repeats, action_status, version, action_at, quiet_since)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (rule_id, scope_key) DO NOTHING RETURNING version`,
        values,
      );
    } else {
      rows = await tx.query(
        `UPDATE alert_state SET scope = $3::jsonb, status = $4, pending_since = $5, firing_since = $6, recovering_since = $7,
           last_notified_at = $8, last_eval_at = $9, last_value = $10, episode = $11, repeats = $12, action_status = $13,
           version = $14, action_at = $15, quiet_since = $16, updated_at = now()
         WHERE rule_id = $1 AND scope_key = $2 AND version = $14 - 1 RETURNING version`,
        values,
      );
    }
    if (rows.length === 0) return false;
    next.version = expected + 1;
    return true;
  }

  /**
   * Who hears a kill-switch rule's alert: an organization's scope, or a decision scoped to organizations, pages those
   * organizations' receivers (each one's route, or `organizationReceivers`); a global one the rule's; an
   * organization's breach that stood aside for the action-wide decision pages no one. A resolve goes to those and to
   * every receiver this episode paged, each channel only if it heard the trigger (the rest are `suppressed`). Other
   * rules: their own receivers.
   */
  private async receiversOf(tx: SqlTx, t: Transition, effect: string, decided: KillSwitchOutcome | undefined): Promise<readonly string[]> {
    if (t.rule.action === 'none') return t.rule.routeByBlastRadius && t.next.scope.organization_id === undefined ? this.episodeTriggerReceivers(tx, t) : t.rule.receivers;
    // An organization's breach inside a failure across organizations: the action-wide alert is the page.
    if (decided?.decision === 'deferred_global') return [];
    const b = this.o.killSwitch.blastRadius;
    const own = t.next.scope.organization_id;
    const receivers = own !== undefined ? organizationReceiversOf(b, [own]) : decided?.scope === 'organization' ? organizationReceiversOf(b, decided.organizations) : t.rule.receivers;
    if (effect !== 'resolve') return receivers;
    const told = await tx.query<{ receiver: string }>(`SELECT DISTINCT receiver FROM alert_outbox WHERE rule_id = $1 AND scope_key = $2 AND episode = $3`, [
      t.next.ruleId,
      t.next.scopeKey,
      t.next.episode,
    ]);
    return [...new Set([...receivers, ...told.map((r) => r.receiver)])];
  }

  /**
   * A rule routed by blast radius: its repeats and resolve go where the episode's trigger went, read from the outbox
   * (written in the trigger's transaction), so a restart or another instance routes them alike. An episode with no
   * trigger row (triggered before the rule was routed) keeps the rule's receivers.
   */
  private async episodeTriggerReceivers(tx: SqlTx, t: Transition): Promise<readonly string[]> {
    const rows = await tx.query<{ receiver: string }>(
      `SELECT DISTINCT receiver FROM alert_outbox WHERE rule_id = $1 AND scope_key = $2 AND episode = $3 AND kind = 'trigger' ORDER BY receiver`,
      [t.next.ruleId, t.next.scopeKey, t.next.episode],
    );
    return rows.length > 0 ? rows.map((r) => r.receiver) : t.rule.receivers;
  }

  /** One outbox row per channel; returns how many will be delivered (not silenced/inhibited). */
  private async enqueue(tx: SqlTx, told: AlertNotification, kindKey: string, receivers: readonly string[], inhibitWhenDisabled: boolean): Promise<number> {
    const n: AlertNotification = { ...told, decisionKey: `${told.dedupKey}#${told.episode}#${kindKey}` };
    let deliverable = 0;
    const inhibited = n.kind !== 'resolve' && n.kind !== 'kill_switch' && n.kind !== 'recovery' && inhibitWhenDisabled && (await this.isDisabled(tx, n.scope.node_type));
    for (const receiver of receivers) {
      const channels = this.o.routes[receiver] ?? [];
      for (const channel of channels) {
        let status: 'pending' | 'silenced' | 'inhibited' | 'suppressed' = 'pending';
        let note: string | null = null;
        if (inhibited) {
          status = 'inhibited';
          note = `node_type ${n.scope.node_type} is disabled`;
        } else if (n.kind === 'resolve') {
          // Resolve only what this channel was told about.
          const told = await tx.query(
            `SELECT 1 FROM alert_outbox WHERE rule_id = $1 AND scope_key = $2 AND episode = $3 AND channel = $4 AND kind IN ('trigger', 'repeat')
             AND status IN ('pending', 'sent', 'dead') LIMIT 1`,
            [n.ruleId, n.scopeKey, n.episode, channel],
          );
          if (told.length === 0) {
            status = 'suppressed';
            note = 'the trigger was silenced or inhibited';
          }
        } else if (n.kind !== 'kill_switch' && n.kind !== 'recovery') {
          const silence = await activeSilenceFor(tx, { rule_id: n.ruleId, receiver, scope_key: n.scopeKey, scope: n.scope });
          if (silence) {
            status = 'silenced';
            note = `silence ${silence}`;
          }
        }
        const key = `${n.ruleId}|${n.scopeKey}|${n.episode}|${kindKey}|${receiver}|${channel}`;
        const rows = await tx.query(
          `INSERT INTO alert_outbox (transition_key, rule_id, scope_key, receiver, channel, kind, dedup_key, episode, payload, status, last_error)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11) ON CONFLICT (transition_key) DO NOTHING RETURNING id`,
          [key, n.ruleId, n.scopeKey, receiver, channel, n.kind satisfies NotificationKind, n.dedupKey, n.episode, JSON.stringify(n), status, note],
        );
        if (rows.length > 0 && status === 'pending') deliverable++;
      }
    }
    return deliverable;
  }

  private async isDisabled(tx: SqlTx, nodeType: string | undefined): Promise<boolean> {
    if (!nodeType) return false;
    const rows = await tx.query<{ enabled: boolean }>(`SELECT enabled FROM node_registries WHERE node_type = $1`, [nodeType]);
    return rows.length > 0 && rows[0].enabled === false;
  }
}
