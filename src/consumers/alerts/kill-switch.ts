import { setRegistryEnabled } from '../../executors/registry-schema.ts';
import type { SqlDb, SqlTx } from '../../platform/registry-db.ts';
import type { Transition } from './alert-engine.ts';
import { ratioCounts, type KillSwitchDecision } from './alert-notification.ts';

/**
 * The automatic disable, with the guards on-call needs to trust it: dry-run (decide and tell, change
 * nothing), a cap on automatic disables per 24 h (beyond it a human decides), and a grace period after
 * a human re-enable. Runs inside the transaction that persists the firing transition, so the decision,
 * the registry change, its audit row and the notification commit together or not at all.
 */
export interface KillSwitchOptions {
  dryRun: boolean;
  maxPer24h: number;
  /** Scaled by timeScale: 24 h in real milliseconds (the cap counts recent automatic disables in the log). */
  capWindowMs: number;
}

export interface KillSwitchOutcome {
  decision: KillSwitchDecision;
  nodeType: string;
  message: string;
}

/** A transaction dressed as a SqlDb, so setRegistryEnabled joins ours instead of opening its own. */
function txAsDb(kind: SqlDb['kind'], tx: SqlTx): SqlDb {
  return {
    kind,
    query: (sql, params) => tx.query(sql, params),
    transaction: (fn) => fn(tx),
    listen: () => Promise.reject(new Error('LISTEN inside a transaction')),
    close: async () => undefined,
  };
}

export async function decideKillSwitch(kind: SqlDb['kind'], tx: SqlTx, t: Transition, o: KillSwitchOptions): Promise<KillSwitchOutcome> {
  const nodeType = t.next.scope.node_type;
  const pct = `${(t.observation.value * 100).toFixed(1)}%`;
  const counts = ratioCounts(t.observation);
  const registry = await tx.query<{ enabled: boolean }>(`SELECT enabled FROM node_registries WHERE node_type = $1 FOR UPDATE`, [nodeType]);
  let outcome: KillSwitchOutcome;
  if (registry.length === 0 || registry[0].enabled === false) {
    outcome = { decision: 'already_disabled', nodeType, message: `${nodeType} is already disabled; nothing to do.` };
  } else {
    const capped = await tx.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM alert_kill_switch_log WHERE decision = 'done' AND created_at > now() - make_interval(secs => $1)`,
      [o.capWindowMs / 1000],
    );
    // The grace period runs in event time from the re-enable the stream shows (calls reaching the action again
    // after being refused), so a replay decides the same as the first pass.
    if (t.graceUntil != null && t.at < t.graceUntil) {
      outcome = {
        decision: 'waiting_grace',
        nodeType,
        message: `${nodeType} was re-enabled recently; not disabling during the grace period, until ${new Date(t.graceUntil).toISOString()} (${counts}, ${pct}).`,
      };
    } else if (o.dryRun) {
      outcome = { decision: 'dry_run', nodeType, message: `DRY RUN: would disable ${nodeType} (${counts}, ${pct}). Nothing was changed.` };
    } else if (Number(capped[0].n) >= o.maxPer24h) {
      outcome = {
        decision: 'capped',
        nodeType,
        message: `Would disable ${nodeType} (${counts}, ${pct}) but the cap of ${o.maxPer24h} automatic disables per 24 h is reached: a human must decide.`,
      };
    } else {
      await setRegistryEnabled(txAsDb(kind, tx), nodeType, false, {
        actor: `alert:${t.rule.id}`,
        reason: `failure rate ${pct} > ${(t.rule.threshold * 100).toFixed(0)}% sustained for ${t.rule.pendingMinutes} min`,
        details: {
          rule_id: t.rule.id,
          rate: t.observation.value,
          failed: t.observation.numerator,
          completed: t.observation.denominator,
          window_minutes: t.rule.windowMinutes,
          event_time: t.at,
          top_reasons: t.observation.topReasons,
        },
      });
      outcome = { decision: 'done', nodeType, message: `Disabled ${nodeType} in node_registries (${counts}, ${pct}). Re-enable: POST /v1/registries/${nodeType}/enable.` };
    }
  }
  // The log's `invoked` column keeps its first name; it holds the rule's denominator, completed calls.
  await tx.query(
    `INSERT INTO alert_kill_switch_log (node_type, rule_id, episode, decision, dry_run, rate, failed, invoked, event_time)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [nodeType, t.rule.id, t.next.episode, outcome.decision, o.dryRun, t.observation.value, t.observation.numerator, t.observation.denominator, t.at],
  );
  return outcome;
}
