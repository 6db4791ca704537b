import { isNodeType, NODE_TYPE_NAMES } from '../../events/index.ts';
import { loadConfig } from '../../platform/config.ts';
import { AdminClient } from '../admin-client.ts';
import { parse, UsageError } from '../args.ts';

export const help = `actionpulse registry list
actionpulse registry enable <node_type> [--organization ORG] --reason TEXT [--actor NAME]
actionpulse registry disable <node_type> [--organization ORG] --reason TEXT [--actor NAME]
actionpulse registry audit <node_type>

  The per-action kill switch (node_registries) and its organization-scoped switches (node_registry_organizations):
  without --organization a change applies to everyone (scope global), with it to that organization only (scope
  organization; a globally disabled action stays off). Changes go through the service's admin API with the admin
  token (ADMIN_TOKEN, or the local one under the data folder) and are written to the audit trail; running
  executors pick them up within a second. Re-enabling starts the grace period before the kill switch may
  disable the action again. A person's change ends the switch's automatic recovery. \`list\` shows each switch
  the kill switch turned off with its recovery: cooling until when, probing (one call in how many), re-enabled
  automatically, or ended by a person. Node types: ${NODE_TYPE_NAMES.join(', ')}`;

interface RegistryRow {
  node_type: string;
  organization_id?: string;
  enabled: boolean;
  probe_every?: number | null;
  updated_at: string;
  updated_by: string | null;
  reason: string | null;
}

interface RecoveryRow {
  node_type: string;
  scope: string;
  organization_id: string | null;
  phase: string;
  cycle: number;
  cool_until: string | null;
  probing_since: string | null;
  failed_rounds: number;
  probes: { ok: boolean }[];
  ended_at: string | null;
  ended_by: string | null;
}

function recoveryLine(r: RecoveryRow): string {
  const scope = r.scope === 'organization' ? `org ${r.organization_id ?? ''}` : 'global';
  const ok = r.probes.filter((p) => p.ok).length;
  const what =
    r.phase === 'cooling' ? `cooling until ${r.cool_until}` :
    r.phase === 'probing' ? `probing since ${r.probing_since}: ${ok} successful probe${ok === 1 ? '' : 's'} so far` :
    r.phase === 'reenabled' ? `re-enabled automatically at ${r.ended_at} after ${ok} successful probes` :
    `ended by ${r.ended_by ?? 'a person'}`;
  return `${r.node_type.padEnd(28)} ${scope.padEnd(24)} cycle ${r.cycle}, ${r.failed_rounds} failed round${r.failed_rounds === 1 ? '' : 's'}: ${what}`;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    reason: { type: 'string' },
    actor: { type: 'string' },
    organization: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const [sub, nodeType] = positionals;
  // Arguments are checked first: a usage error needs no configuration, token or running service.
  const admin = () => AdminClient.fromConfig(loadConfig());
  if (sub === 'list') {
    const { registries, organizations = [], recovery = [] } = await admin().request<{ registries: RegistryRow[]; organizations?: RegistryRow[]; recovery?: RecoveryRow[] }>('GET', '/v1/registries');
    if (values.json) return (console.log(JSON.stringify({ registries, organizations, recovery }, null, 2)), 0);
    const state = (r: RegistryRow) => (r.enabled ? 'enabled ' : r.probe_every ? 'PROBING ' : 'DISABLED');
    const line = (r: RegistryRow, scope: string) =>
      `${state(r)}  ${r.node_type.padEnd(28)} ${scope.padEnd(24)} ${r.updated_by ?? ''}${r.reason ? ` — ${r.reason}` : ''}${r.enabled ? '' : ` (since ${r.updated_at})`}${!r.enabled && r.probe_every ? ` (one call in ${r.probe_every} goes through as a probe)` : ''}`;
    for (const r of registries) console.log(line(r, 'global'));
    for (const r of organizations) console.log(line(r, `org ${r.organization_id ?? ''}`));
    if (recovery.length > 0) {
      console.log('\nAutomatic recovery (the last cycle of each switch the kill switch turned off):');
      for (const r of recovery) console.log(`  ${recoveryLine(r)}`);
    }
    return 0;
  }
  if (sub !== 'enable' && sub !== 'disable' && sub !== 'audit') throw new UsageError(help);
  if (!nodeType || !isNodeType(nodeType)) throw new UsageError(`unknown node type '${nodeType ?? ''}'; one of ${NODE_TYPE_NAMES.join(', ')}`);
  if (sub === 'audit') {
    const { audit } = await admin().request<{ audit: Record<string, unknown>[] }>('GET', `/v1/registries/${nodeType}/audit`);
    for (const a of audit) {
      const scope = a.scope === 'organization' ? `org ${String(a.organization_id)}` : 'global';
      console.log(`${String(a.created_at)}  ${String(a.action).padEnd(8)} ${scope.padEnd(24)} by ${String(a.actor)}: ${String(a.reason ?? '')}`);
    }
    return 0;
  }
  if (!values.reason || values.reason.trim().length < 3) throw new UsageError('--reason is required (what was fixed, or why it is disabled)');
  const org = values.organization;
  if (org !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/.test(org)) throw new UsageError(`invalid --organization '${org}': letters, digits and _ . : @ - only`);
  const path = org === undefined ? `/v1/registries/${nodeType}/${sub}` : `/v1/registries/${nodeType}/organizations/${encodeURIComponent(org)}/${sub}`;
  const out = await admin().request<{ enabled: boolean; actor: string }>('POST', path, { reason: values.reason, actor: values.actor ?? process.env.USER ?? 'cli' });
  console.log(`${nodeType} ${out.enabled ? 'enabled' : 'disabled'}${org === undefined ? ' (global)' : ` for organization ${org}`} by ${out.actor}`);
  return 0;
}
