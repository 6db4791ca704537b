import type { SqlDb, SqlTx } from '../../platform/registry-db.ts';
import type { Transition } from './alert-engine.ts';
import type { Effect } from './rule-state-machine.ts';

/**
 * Alert episodes, firing → resolved in event time, one row per rule, scope and episode (table `alert_episodes`,
 * alerts migration 3). Written inside the transaction that persists the transition, so an episode exists exactly
 * when its trigger was decided, whether or not any channel was routed to hear of it.
 */
export async function recordEpisode(tx: SqlTx, t: Transition, effect: Effect): Promise<void> {
  if (effect === 'trigger') {
    await tx.query(
      `INSERT INTO alert_episodes (rule_id, scope_key, episode, scope, title, severity, rule_kind, threshold, window_minutes, fired_at, fired_value)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
      [t.rule.id, t.next.scopeKey, t.next.episode, JSON.stringify(t.next.scope), t.rule.title, t.rule.severity, t.rule.kind, t.rule.threshold, t.rule.windowMinutes, t.at, t.observation.value],
    );
  } else if (effect === 'resolve') {
    await tx.query(
      `UPDATE alert_episodes SET resolved_at = $4, resolution = $5 WHERE rule_id = $1 AND scope_key = $2 AND episode = $3 AND resolved_at IS NULL`,
      [t.rule.id, t.next.scopeKey, t.next.episode, t.at, t.resolution ?? 'healthy'],
    );
  }
}

export interface AlertEpisode {
  ruleId: string;
  scopeKey: string;
  episode: number;
  scope: Record<string, string>;
  title: string;
  severity: string;
  ruleKind: string;
  threshold: number;
  windowMinutes: number;
  firedAt: number;
  firedValue: number;
  /** Null while it still fires. */
  resolvedAt: number | null;
  resolution: string | null;
}

type EpisodeRow = {
  rule_id: string;
  scope_key: string;
  episode: number;
  scope: Record<string, string>;
  title: string;
  severity: string;
  rule_kind: string;
  threshold: number;
  window_minutes: number;
  fired_at: string;
  fired_value: number;
  resolved_at: string | null;
  resolution: string | null;
};

/**
 * The episodes that touch the range: fired at or before `to` (an episode fires on the evaluation of the window that
 * ends at its instant, so a link to that window, which ends there, shows it) and not resolved before `from`.
 */
export async function episodesOverlapping(db: SqlDb, fromMs: number, toMs: number, limit = 2000): Promise<AlertEpisode[]> {
  const rows = await db.query<EpisodeRow>(
    `SELECT * FROM alert_episodes WHERE fired_at <= $2 AND (resolved_at IS NULL OR resolved_at >= $1) ORDER BY fired_at, rule_id, scope_key LIMIT $3`,
    [fromMs, toMs, limit],
  );
  return rows.map((r) => ({
    ruleId: r.rule_id,
    scopeKey: r.scope_key,
    episode: r.episode,
    scope: r.scope,
    title: r.title,
    severity: r.severity,
    ruleKind: r.rule_kind,
    threshold: r.threshold,
    windowMinutes: r.window_minutes,
    firedAt: Number(r.fired_at),
    firedValue: r.fired_value,
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
    resolution: r.resolution,
  }));
}
