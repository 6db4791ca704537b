import type { Logger } from '../platform/logger.ts';
import type { SqlDb } from '../platform/registry-db.ts';
import { readOrganizationDisables, readRegistry, REGISTRY_NOTIFY_CHANNEL, type RegistryScope } from './registry-schema.ts';

export interface RegistryGateOptions {
  /** Safety net: full reload this often even without notifications (a dropped LISTEN connection). */
  resyncIntervalMs?: number;
  logger: Logger;
}

/** What the gate answers for one call: go, or refused and by which switch. */
export type GateVerdict = { allowed: true; probe?: RegistryScope } | { allowed: false; scope: RegistryScope };

/**
 * The `enabled` flags of node_registries and the organization-scoped disables of node_registry_organizations,
 * held in memory. `isEnabled` is a Map lookup (no DB round
 * trip per action); a trigger NOTIFYs on every change and the gate reloads the (tiny) table, so a
 * disable reaches running executors in well under a second.
 */
export class RegistryGate {
  private flags = new Map<string, boolean>();
  /** `node_type \0 organization_id` of every organization-scoped disable. */
  private orgDisabled = new Set<string>();
  /** Disabled switches that are probing (`node_type`, or `node_type \0 organization_id`) → one call in how many. */
  private probeEvery = new Map<string, number>();
  /** Calls seen per probing switch, in this process: every `probeEvery`-th goes through. */
  private probeCalls = new Map<string, number>();
  private schema = '';
  private unlisten: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private dirty = false;
  private closed = false;

  private constructor(
    private readonly db: SqlDb,
    private readonly options: RegistryGateOptions,
  ) {}

  static async open(db: SqlDb, options: RegistryGateOptions): Promise<RegistryGate> {
    const gate = new RegistryGate(db, options);
    const [row] = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
    gate.schema = row?.schema ?? '';
    // Listen before the first load, so a change landing between the two is not missed.
    gate.unlisten = await db.listen(REGISTRY_NOTIFY_CHANNEL, (payload) => gate.onNotify(payload));
    await gate.reload();
    const every = options.resyncIntervalMs ?? 30_000;
    gate.timer = setInterval(() => gate.requestReload(), every);
    gate.timer.unref();
    return gate;
  }

  /** Unknown actions are disabled: an action nobody registered must not run. */
  isEnabled(nodeType: string): boolean {
    return this.flags.get(nodeType) === true;
  }

  /** Whether `organizationId` may call `nodeType`: the global flag first (it wins), then the organization's switch. */
  verdict(nodeType: string, organizationId: string): GateVerdict {
    if (!this.isEnabled(nodeType)) return this.probe(nodeType, 'global');
    const orgKey = `${nodeType}\u0000${organizationId}`;
    if (this.orgDisabled.has(orgKey)) return this.probe(orgKey, 'organization');
    return { allowed: true };
  }

  /**
   * A disabled switch that is probing (half-open) lets one call in `probe_every` through as a probe; the others are
   * refused. Counted per switch in this process, so the rate holds per executor whatever the other processes do.
   */
  private probe(key: string, scope: RegistryScope): GateVerdict {
    const every = this.probeEvery.get(key);
    if (every === undefined) return { allowed: false, scope };
    const n = (this.probeCalls.get(key) ?? 0) + 1;
    this.probeCalls.set(key, n % every);
    return n % every === 0 ? { allowed: true, probe: scope } : { allowed: false, scope };
  }

  /** Organization-scoped disables, as `{ node_type: [organization_id, …] }`. */
  organizationDisables(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const k of this.orgDisabled) {
      const [nodeType, org] = k.split('\u0000');
      (out[nodeType] ??= []).push(org);
    }
    return out;
  }

  /** Probing switches: `node_type` (global) or `node_type/organization_id` → one call in how many goes through. */
  probing(): Record<string, number> {
    return Object.fromEntries([...this.probeEvery].map(([k, n]) => [k.replace('\u0000', '/'), n]));
  }

  snapshot(): Record<string, boolean> {
    return Object.fromEntries(this.flags);
  }

  private onNotify(payload: string): void {
    try {
      const parsed = JSON.parse(payload) as { schema?: string };
      if (parsed.schema && this.schema && parsed.schema !== this.schema) return;
    } catch {
      // A payload we cannot read still means "something changed": reload.
    }
    this.requestReload();
  }

  /** Coalesces bursts of notifications: at most one reload running and one queued behind it. */
  requestReload(): void {
    if (this.closed) return;
    if (this.reloading) {
      this.dirty = true;
      return;
    }
    this.reloading = this.reload()
      .catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'registry reload failed; keeping last flags'))
      .finally(() => {
        this.reloading = undefined;
        if (this.dirty) {
          this.dirty = false;
          this.requestReload();
        }
      });
  }

  /** Resolves when any reload in flight (and one queued) has finished; for start-up and tests. */
  async settled(): Promise<void> {
    while (this.reloading) await this.reloading;
  }

  private async reload(): Promise<void> {
    const [rows, orgRows] = await Promise.all([readRegistry(this.db), readOrganizationDisables(this.db)]);
    const next = new Map<string, boolean>();
    for (const row of rows) next.set(row.node_type, row.enabled === true);
    for (const [nodeType, enabled] of next) {
      if (this.flags.size > 0 && this.flags.get(nodeType) !== enabled) {
        this.options.logger.info({ node_type: nodeType, enabled }, 'node registry flag changed');
      }
    }
    const nextOrg = new Set(orgRows.map((r) => `${r.node_type}\u0000${r.organization_id}`));
    const probeEvery = new Map<string, number>();
    for (const r of rows) if (r.enabled !== true && r.probe_every != null) probeEvery.set(r.node_type, Number(r.probe_every));
    for (const r of orgRows) if (r.probe_every != null) probeEvery.set(`${r.node_type}\u0000${r.organization_id}`, Number(r.probe_every));
    if (this.flags.size > 0) {
      for (const k of nextOrg) if (!this.orgDisabled.has(k)) this.logOrgChange(k, false);
      for (const k of this.orgDisabled) if (!nextOrg.has(k)) this.logOrgChange(k, true);
    }
    this.flags = next;
    this.orgDisabled = nextOrg;
    this.probeEvery = probeEvery;
    for (const k of this.probeCalls.keys()) if (!probeEvery.has(k)) this.probeCalls.delete(k);
  }

  private logOrgChange(key: string, enabled: boolean): void {
    const [nodeType, organizationId] = key.split('\u0000');
    this.options.logger.info({ node_type: nodeType, organization_id: organizationId, enabled, scope: 'organization' }, 'node registry flag changed');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.settled();
    await this.unlisten?.();
  }
}
