import type { SqlDb } from '../../platform/registry-db.ts';

/**
 * The registry's decisions over a period, from the audit trail (`node_registry_audit`): every disable and
 * re-enable, global or for one organization, automatic (actor `alert:<rule id>`) or by a person. The weekly review
 * counts and lists them.
 */
export interface RegistryDecision {
  /** When the audit row was written (ms, the database's clock). */
  at: number;
  node_type: string;
  scope: 'global' | 'organization';
  organization_id: string | null;
  /** `disable`, `enable`, or whatever other change the trail records. */
  action: string;
  /** The change's own kind when its details name one (`details.kind`: `automatic`, `probe_failed`, `dry_run`, …). */
  kind: string | null;
  actor: string;
  automatic: boolean;
  reason: string | null;
}

export interface RegistryDecisionsProvider {
  decisions(fromMs: number, toMs: number): Promise<RegistryDecision[]>;
}

/** At most this many rows a period: a review lists decisions, it is not an export of the trail. */
const MAX_ROWS = 1000;

export class AuditTrailDecisions implements RegistryDecisionsProvider {
  constructor(private readonly db: SqlDb) {}

  async decisions(fromMs: number, toMs: number): Promise<RegistryDecision[]> {
    const rows = await this.db.query<{ node_type: string; scope: string | null; organization_id: string | null; action: string; kind: string | null; actor: string; reason: string | null; created_at: Date | string }>(
      `SELECT node_type, scope, organization_id, action, details->>'kind' AS kind, actor, reason, created_at FROM node_registry_audit
       WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id LIMIT ${MAX_ROWS}`,
      [new Date(fromMs).toISOString(), new Date(toMs).toISOString()],
    );
    return rows.map((r) => ({
      at: r.created_at instanceof Date ? r.created_at.getTime() : Date.parse(r.created_at),
      node_type: r.node_type,
      scope: r.scope === 'organization' ? 'organization' : 'global',
      organization_id: r.organization_id,
      action: r.action,
      kind: r.kind,
      actor: r.actor,
      automatic: r.actor.startsWith('alert:'),
      reason: r.reason,
    }));
  }
}

export interface DecisionCounts {
  disables: { global: number; organization: number; automatic: number };
  enables: { global: number; organization: number; automatic: number };
  /**
   * The automatic recovery's probe rounds: started (`probe`), ended by a failed probe (`probe_end`), and cycles ended
   * because dry run was turned on (`probe_end` of kind `dry_run`).
   */
  probeRounds: { started: number; failed: number; endedByDryRun: number };
}

export function countDecisions(list: readonly RegistryDecision[]): DecisionCounts {
  const zero = () => ({ global: 0, organization: 0, automatic: 0 });
  const out: DecisionCounts = { disables: zero(), enables: zero(), probeRounds: { started: 0, failed: 0, endedByDryRun: 0 } };
  for (const d of list) {
    if (d.action === 'probe') out.probeRounds.started++;
    if (d.action === 'probe_end' && d.kind === 'dry_run') out.probeRounds.endedByDryRun++;
    else if (d.action === 'probe_end') out.probeRounds.failed++;
    const side = d.action === 'disable' ? out.disables : d.action === 'enable' ? out.enables : undefined;
    if (!side) continue;
    side[d.scope]++;
    if (d.automatic) side.automatic++;
  }
  return out;
}
