import { isNodeType, NODE_TYPE_NAMES } from '../../events/index.ts';
import { loadConfig } from '../../platform/config.ts';
import { AdminClient } from '../admin-client.ts';
import { parse, UsageError } from '../args.ts';

export const help = `actionpulse registry list
actionpulse registry enable <node_type> --reason TEXT [--actor NAME]
actionpulse registry disable <node_type> --reason TEXT [--actor NAME]
actionpulse registry audit <node_type>

  The per-action kill switch (node_registries). Changes go through the service's admin API with the admin
  token (ADMIN_TOKEN, or the local one under the data folder) and are written to the audit trail; running
  executors pick them up within a second. Re-enabling starts the grace period before the kill switch may
  disable the action again. Node types: ${NODE_TYPE_NAMES.join(', ')}`;

interface RegistryRow {
  node_type: string;
  enabled: boolean;
  updated_at: string;
  updated_by: string | null;
  reason: string | null;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { reason: { type: 'string' }, actor: { type: 'string' }, json: { type: 'boolean', default: false } });
  const [sub, nodeType] = positionals;
  // Arguments are checked first: a usage error needs no configuration, token or running service.
  const admin = () => AdminClient.fromConfig(loadConfig());
  if (sub === 'list') {
    const { registries } = await admin().request<{ registries: RegistryRow[] }>('GET', '/v1/registries');
    if (values.json) return (console.log(JSON.stringify(registries, null, 2)), 0);
    for (const r of registries) {
      console.log(`${r.enabled ? 'enabled ' : 'DISABLED'}  ${r.node_type.padEnd(28)} ${r.updated_by ?? ''}${r.reason ? ` — ${r.reason}` : ''}`);
    }
    return 0;
  }
  if (sub !== 'enable' && sub !== 'disable' && sub !== 'audit') throw new UsageError(help);
  if (!nodeType || !isNodeType(nodeType)) throw new UsageError(`unknown node type '${nodeType ?? ''}'; one of ${NODE_TYPE_NAMES.join(', ')}`);
  if (sub === 'audit') {
    const { audit } = await admin().request<{ audit: Record<string, unknown>[] }>('GET', `/v1/registries/${nodeType}/audit`);
    for (const a of audit) console.log(`${String(a.created_at)}  ${String(a.action).padEnd(8)} by ${String(a.actor)}: ${String(a.reason ?? '')}`);
    return 0;
  }
  if (!values.reason || values.reason.trim().length < 3) throw new UsageError('--reason is required (what was fixed, or why it is disabled)');
  const out = await admin().request<{ enabled: boolean; actor: string }>('POST', `/v1/registries/${nodeType}/${sub}`, { reason: values.reason, actor: values.actor ?? process.env.USER ?? 'cli' });
  console.log(`${nodeType} ${out.enabled ? 'enabled' : 'disabled'} by ${out.actor}`);
  return 0;
}
