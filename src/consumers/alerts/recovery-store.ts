import { setOrganizationEnabled, setProbing, setRegistryEnabled } from '../../executors/registry-schema.ts';
import type { SqlDb, SqlTx } from '../../platform/registry-db.ts';
import type { RecoveryConfig } from './alert-rules.ts';
import { isManual, startCycle, type ProbeResult, type RecoveryPhase, type RecoveryState, type RecoveryStep } from './recovery.ts';

/**
 * The recovery states in `alert_recovery` (alerts migration 4) and the registry side of each step, always inside the
 * transaction that persists it: a compare-and-set on the row's version, so a replayed or raced step writes nothing
 * twice, and the registry change, its audit row and the notification commit with it or not at all.
 */
type RecoveryRow = {
  node_type: string;
  scope: 'global' | 'organization';
  organization_id: string;
  rule_id: string;
  scope_key: string;
  episode: number;
  cycle: number;
  phase: RecoveryPhase;
  disabled_at: string;
  rounds: number;
  cool_down_minutes: number;
  cool_until: string;
  probing_since: string | null;
  probes: ProbeResult[];
  through: string;
  through_id: string;
  ended_at: string | null;
  ended_by: string | null;
  past_cycles: { disabledAt: number; endedAt: number }[];
  version: number;
};

const num = (v: string | null): number | null => (v === null ? null : Number(v));

function fromRow(r: RecoveryRow): RecoveryState {
  return {
    nodeType: r.node_type,
    organizationId: r.scope === 'global' ? null : r.organization_id,
    ruleId: r.rule_id,
    scopeKey: r.scope_key,
    episode: r.episode,
    cycle: r.cycle,
    phase: r.phase,
    disabledAt: Number(r.disabled_at),
    rounds: r.rounds,
    coolDownMinutes: r.cool_down_minutes,
    coolUntil: Number(r.cool_until),
    probingSince: num(r.probing_since),
    probes: r.probes,
    through: Number(r.through),
    throughId: r.through_id,
    endedAt: num(r.ended_at),
    endedBy: r.ended_by,
    pastCycles: r.past_cycles,
    version: r.version,
  };
}

const keyOf = (nodeType: string, organizationId: string | null) => [nodeType, organizationId === null ? 'global' : 'organization', organizationId ?? ''];

export async function loadRecoveryStates(db: SqlDb | SqlTx): Promise<RecoveryState[]> {
  return (await db.query<RecoveryRow>(`SELECT * FROM alert_recovery`)).map(fromRow);
}

export async function loadRecoveryState(db: SqlDb | SqlTx, nodeType: string, organizationId: string | null, lock = false): Promise<RecoveryState | undefined> {
  const rows = await db.query<RecoveryRow>(
    `SELECT * FROM alert_recovery WHERE node_type = $1 AND scope = $2 AND organization_id = $3${lock ? ' FOR UPDATE' : ''}`,
    keyOf(nodeType, organizationId),
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Writes `next` only if the row still has version `expected` (0: no row yet); returns the state with its new version. */
export async function writeRecovery(tx: SqlTx, expected: number, next: RecoveryState): Promise<RecoveryState | undefined> {
  const values = [
    ...keyOf(next.nodeType, next.organizationId),
    next.ruleId,
    next.scopeKey,
    next.episode,
    next.cycle,
    next.phase,
    next.disabledAt,
    next.rounds,
    next.coolDownMinutes,
    next.coolUntil,
    next.probingSince,
    JSON.stringify(next.probes),
    next.through,
    next.throughId,
    next.endedAt,
    next.endedBy,
    expected + 1,
    JSON.stringify(next.pastCycles),
  ];
  const rows = expected === 0
    ? await tx.query(
        `INSERT INTO alert_recovery (node_type, scope, organization_id, rule_id, scope_key, episode, cycle, phase, disabled_at, rounds,
           cool_down_minutes, cool_until, probing_since, probes, through, through_id, ended_at, ended_by, version, past_cycles)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17, $18, $19, $20::jsonb)
         ON CONFLICT DO NOTHING RETURNING version`,
        values,
      )
    : await tx.query(
        `UPDATE alert_recovery SET rule_id = $4, scope_key = $5, episode = $6, cycle = $7, phase = $8, disabled_at = $9, rounds = $10,
           cool_down_minutes = $11, cool_until = $12, probing_since = $13, probes = $14::jsonb, through = $15, through_id = $16,
           ended_at = $17, ended_by = $18, version = $19, past_cycles = $20::jsonb, updated_at = now()
         WHERE node_type = $1 AND scope = $2 AND organization_id = $3 AND version = $19 - 1 RETURNING version`,
        values,
      );
  return rows.length === 0 ? undefined : { ...next, version: expected + 1 };
}

/**
 * The kill switch disabled a switch (inside its transaction): its recovery cycle starts cooling, unless the action's
 * recovery is `manual`. Returns the state written, for the engine.
 */
export async function startRecovery(
  tx: SqlTx,
  config: RecoveryConfig,
  minuteMs: number,
  d: { nodeType: string; organizationId: string | null; ruleId: string; scopeKey: string; episode: number; at: number },
): Promise<RecoveryState | undefined> {
  if (isManual(config, d.nodeType)) return undefined;
  const previous = await loadRecoveryState(tx, d.nodeType, d.organizationId, true);
  return writeRecovery(tx, previous?.version ?? 0, startCycle(config, minuteMs, d, previous));
}

/**
 * A person switched a switch on or off by hand: its automatic cycle ends there (the evaluator finds out when its next
 * step's compare-and-set fails). The end's event time is the last instant the cycle decided.
 */
export async function endRecoveryByPerson(tx: SqlTx, nodeType: string, organizationId: string | null, actor: string): Promise<void> {
  await tx.query(
    `UPDATE alert_recovery SET phase = 'ended', ended_by = $4, ended_at = GREATEST(through, disabled_at), version = version + 1, updated_at = now()
     WHERE node_type = $1 AND scope = $2 AND organization_id = $3 AND phase IN ('cooling', 'probing')`,
    [...keyOf(nodeType, organizationId), actor],
  );
}

/** A transaction dressed as a SqlDb, so the registry's helpers join it instead of opening their own. */
export function txAsDb(kind: SqlDb['kind'], tx: SqlTx): SqlDb {
  return {
    kind,
    query: (sql, params) => tx.query(sql, params),
    transaction: (fn) => fn(tx),
    listen: () => Promise.reject(new Error('LISTEN inside a transaction')),
    close: async () => undefined,
  };
}

export const RECOVERY_ACTOR = 'alert:recovery';

const iso = (ms: number) => new Date(ms).toISOString();

export function probesText(probes: readonly ProbeResult[]): string {
  return probes.map((p) => `${p.ok ? 'ok' : `failed (${p.reason ?? 'failed'})`} at ${iso(p.at)} (${p.organizationId})`).join(', ');
}

export function switchLabel(s: Pick<RecoveryState, 'nodeType' | 'organizationId'>): string {
  return s.organizationId === null ? s.nodeType : `${s.nodeType} for organization ${s.organizationId}`;
}

/**
 * The registry side of a step: start probes, end a round, or switch the action back on, each with its audit row.
 * Returns the state to persist: the step's, or the cycle ended when the switch was found on (a person, or a change
 * outside the admin API, turned it back on). With dry run on, the step is not taken: the cycle ends there (below).
 */
export async function applyRecoveryToRegistry(kind: SqlDb['kind'], tx: SqlTx, step: RecoveryStep, o: { config: RecoveryConfig; dryRun: boolean }): Promise<RecoveryState> {
  const s = step.next;
  if (!o.dryRun && step.step === 'probe') return s;
  const db = txAsDb(kind, tx);
  const details = {
    event_time: step.at,
    cycle: s.cycle,
    failed_rounds: s.rounds,
    cool_down_minutes: s.coolDownMinutes,
    probes: s.probes,
  };
  let ok: boolean;
  if (o.dryRun) {
    // Dry run lets the automation switch nothing on, so a cycle started before it was turned on cannot go on: it ends
    // at its next step, its probes stop (the switch back to what the disable left), and a person re-enables it.
    const p = step.prev;
    ok = await setProbing(db, p.nodeType, p.organizationId, null, {
      actor: RECOVERY_ACTOR,
      reason: `dry run is on: the automatic recovery stops here (it would have taken its ${step.step} step); the switch stays off until a person re-enables it`,
      details: { ...details, kind: 'dry_run', would: step.step, probes: p.probes },
    });
    return { ...p, phase: 'ended', endedAt: step.at, endedBy: ok ? 'dry_run' : 'registry' };
  }
  if (step.step === 'probing') {
    ok = await setProbing(db, s.nodeType, s.organizationId, o.config.probeEvery, {
      actor: RECOVERY_ACTOR,
      reason: `cool-down of ${s.coolDownMinutes} min over: one call in ${o.config.probeEvery} goes through as a probe; ${o.config.successesToReEnable} successes in a row re-enable it`,
      details: { ...details, kind: 'probe', probe_every: o.config.probeEvery, successes_to_reenable: o.config.successesToReEnable },
    });
  } else if (step.step === 'back_off') {
    const failedProbe = s.probes[s.probes.length - 1];
    ok = await setProbing(db, s.nodeType, s.organizationId, null, {
      actor: RECOVERY_ACTOR,
      reason: `probe failed (${failedProbe?.reason ?? 'failed'}) after ${s.probes.length - 1} successful: stays off, next probes after ${s.coolDownMinutes} min (${iso(s.coolUntil)})`,
      details: { ...details, kind: 'probe_failed', cool_until: s.coolUntil },
    });
  } else {
    const enabled = await tx.query<{ enabled: boolean }>(
      s.organizationId === null
        ? `SELECT enabled FROM node_registries WHERE node_type = $1 FOR UPDATE`
        : `SELECT enabled FROM node_registry_organizations WHERE node_type = $1 AND organization_id = $2 FOR UPDATE`,
      s.organizationId === null ? [s.nodeType] : [s.nodeType, s.organizationId],
    );
    ok = enabled.length > 0 && enabled[0].enabled === false;
    if (ok) {
      const change = {
        actor: RECOVERY_ACTOR,
        reason: `${s.probes.length} probes in a row succeeded: re-enabled automatically (cycle ${s.cycle}, ${s.rounds} failed probe round${s.rounds === 1 ? '' : 's'})`,
        details: { ...details, kind: 'automatic' },
      };
      if (s.organizationId === null) await setRegistryEnabled(db, s.nodeType, true, change);
      else await setOrganizationEnabled(db, s.nodeType, s.organizationId, true, change);
    }
  }
  if (ok) return s;
  return { ...s, phase: 'ended', endedAt: step.at, endedBy: 'registry' };
}
