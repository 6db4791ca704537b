import { NODE_TYPE_NAMES } from '../events/index.ts';
import type { SqlDb } from '../platform/registry-db.ts';
import { runSqlMigrations, type SqlMigration } from '../platform/sql-migrations.ts';

/**
 * The executors' tables in the registry database, as versioned migrations (src/platform/sql-migrations.ts):
 * every service runs them at start-up and each applies once. To change the schema, append a version to
 * REGISTRY_MIGRATIONS; never edit a released one. Tables land in the connection's search_path.
 *
 * - node_registries      one row per action; `enabled=false` stops the action everywhere within ~1 s.
 * - node_registry_organizations  per (action, organization) overrides: `enabled=false` stops the action for that
 *   organization only (the kill switch's organization-scoped disable); same NOTIFY path as node_registries.
 * - node_registry_audit  who switched what, when and why (the alert kill switch and its automatic recovery write here
 *   too: `disable`, `enable`, `probe`, `probe_end`), with the scope (`global` or `organization`) and the organization
 *   of an organization-scoped change.
 * - crm_company_tokens   per-organization Qontak CRM company token + refresh token, AES-256-GCM encrypted.
 * - chat_channel_integrations / chat_rooms  the room directory the chat actions resolve rooms through.
 */
export const REGISTRY_NOTIFY_CHANNEL = 'actionpulse_node_registries';

/** Version 1: the schema as it was before versioning (IF NOT EXISTS, so an existing database keeps its rows). */
const INITIAL_DDL = `
CREATE TABLE IF NOT EXISTS node_registries (
  node_type   text PRIMARY KEY,
  enabled     boolean NOT NULL DEFAULT true,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text,
  reason      text
);

CREATE TABLE IF NOT EXISTS node_registry_audit (
  id          bigserial PRIMARY KEY,
  node_type   text NOT NULL,
  action      text NOT NULL CHECK (action IN ('disable', 'enable')),
  actor       text NOT NULL,
  reason      text,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS node_registry_audit_node_type_idx ON node_registry_audit (node_type, created_at);

-- Any change, by any writer (an operator's psql UPDATE included), tells every executor to reload.
-- The payload names the schema so listeners sharing one database can tell their table's changes apart.
CREATE OR REPLACE FUNCTION node_registries_notify() RETURNS trigger AS $fn$
BEGIN
  PERFORM pg_notify('${REGISTRY_NOTIFY_CHANNEL}', json_build_object('schema', TG_TABLE_SCHEMA, 'op', TG_OP)::text);
  RETURN NULL;
END
$fn$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS node_registries_notify_trg ON node_registries;
CREATE TRIGGER node_registries_notify_trg AFTER INSERT OR UPDATE OR DELETE ON node_registries
  FOR EACH STATEMENT EXECUTE FUNCTION node_registries_notify();

CREATE TABLE IF NOT EXISTS crm_company_tokens (
  organization_id  text PRIMARY KEY,
  -- base64(iv(12) | auth tag(16) | ciphertext) of {"company_token","refresh_token"}; never stored in clear.
  ciphertext       text NOT NULL,
  key_id           text NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS chat_channel_integrations (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL,
  channel          text NOT NULL,
  active           boolean NOT NULL DEFAULT true,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS chat_rooms (
  organization_id         text NOT NULL,
  channel_room_id         text NOT NULL,
  room_id                 text NOT NULL,
  channel_integration_id  text,
  status                  text NOT NULL DEFAULT 'open',
  updated_at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, channel_room_id)
);
`;

/**
 * Version 2: organization-scoped switches. A row is an override of the action's global flag for one organization;
 * no row means the global flag alone decides. Audit rows say which scope they changed.
 */
const ORGANIZATION_SCOPE_DDL = `
CREATE TABLE IF NOT EXISTS node_registry_organizations (
  node_type        text NOT NULL,
  organization_id  text NOT NULL,
  enabled          boolean NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  updated_by       text,
  reason           text,
  PRIMARY KEY (node_type, organization_id)
);

ALTER TABLE node_registry_audit ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT 'global';
ALTER TABLE node_registry_audit ADD COLUMN IF NOT EXISTS organization_id text;
ALTER TABLE node_registry_audit ADD CONSTRAINT node_registry_audit_scope_chk CHECK (
  (scope = 'global' AND organization_id IS NULL) OR (scope = 'organization' AND organization_id IS NOT NULL));

DROP TRIGGER IF EXISTS node_registry_organizations_notify_trg ON node_registry_organizations;
CREATE TRIGGER node_registry_organizations_notify_trg AFTER INSERT OR UPDATE OR DELETE ON node_registry_organizations
  FOR EACH STATEMENT EXECUTE FUNCTION node_registries_notify();
`;

/**
 * Version 3: half-open probes. `probe_every` on a disabled switch lets one call in that many through to the action,
 * marked `probe: true` on its outcome event; NULL (the default) refuses every call.
 */
const PROBE_DDL = `
ALTER TABLE node_registries ADD COLUMN IF NOT EXISTS probe_every integer CHECK (probe_every IS NULL OR probe_every >= 1);
ALTER TABLE node_registry_organizations ADD COLUMN IF NOT EXISTS probe_every integer CHECK (probe_every IS NULL OR probe_every >= 1);
`;

/**
 * Version 4: the automatic recovery's own kinds of change in the audit trail: `probe` (a disabled switch starts
 * letting probes through) and `probe_end` (a probe round ended without a re-enable).
 */
const RECOVERY_AUDIT_DDL = `
ALTER TABLE node_registry_audit DROP CONSTRAINT IF EXISTS node_registry_audit_action_check;
ALTER TABLE node_registry_audit ADD CONSTRAINT node_registry_audit_action_check CHECK (action IN ('disable', 'enable', 'probe', 'probe_end'));
`;

export const REGISTRY_MIGRATIONS: SqlMigration[] = [
  { version: 1, name: 'registry, audit, CRM tokens, chat rooms', statements: splitStatements(INITIAL_DDL) },
  { version: 2, name: 'organization-scoped registry switches', statements: splitStatements(ORGANIZATION_SCOPE_DDL) },
  { version: 3, name: 'half-open probes of disabled switches', statements: splitStatements(PROBE_DDL) },
  { version: 4, name: 'probe rounds in the audit trail', statements: splitStatements(RECOVERY_AUDIT_DDL) },
];

export async function migrateRegistry(db: SqlDb): Promise<void> {
  await runSqlMigrations(db, 'registry', REGISTRY_MIGRATIONS);
  // Seed every known action as enabled on every start (a new action appears in NODE_TYPES, not in a
  // migration); an existing row, maybe disabled on purpose, is left alone.
  for (const nodeType of NODE_TYPE_NAMES) {
    await db.query(
      `INSERT INTO node_registries (node_type, enabled, updated_by, reason) VALUES ($1, true, 'migration', 'seed')
       ON CONFLICT (node_type) DO NOTHING`,
      [nodeType],
    );
  }
}

/** Splits on `;` at line ends outside dollar-quoted bodies (PGlite's extended protocol takes one statement). */
function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let inDollar = false;
  for (const line of sql.split('\n')) {
    if (line.trim().startsWith('--') && !inDollar) continue;
    current += line + '\n';
    const dollars = line.match(/\$fn\$/g)?.length ?? 0;
    if (dollars % 2 === 1) inDollar = !inDollar;
    if (!inDollar && line.trimEnd().endsWith(';')) {
      out.push(current.trim());
      current = '';
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

export interface RegistryChange {
  actor: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/**
 * Switches an action on or off and writes the audit row in the same transaction, so the trail can never
 * disagree with the flag. Any change ends a probe round (`probe_every` cleared). Returns false when the action has
 * no registry row.
 */
export async function setRegistryEnabled(db: SqlDb, nodeType: string, enabled: boolean, change: RegistryChange): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(
      `UPDATE node_registries SET enabled = $2, probe_every = NULL, updated_at = now(), updated_by = $3, reason = $4
       WHERE node_type = $1 RETURNING node_type`,
      [nodeType, enabled, change.actor, change.reason ?? null],
    );
    if (rows.length === 0) return false;
    await tx.query(
      `INSERT INTO node_registry_audit (node_type, action, actor, reason, details) VALUES ($1, $2, $3, $4, $5::jsonb)`,
      [nodeType, enabled ? 'enable' : 'disable', change.actor, change.reason ?? null, JSON.stringify(change.details ?? {})],
    );
    return true;
  });
}

/** Where a registry switch applies: the action everywhere, or the action for one organization. */
export type RegistryScope = 'global' | 'organization';
export const REGISTRY_SCOPES = ['global', 'organization'] as const satisfies readonly RegistryScope[];

/**
 * Switches an action on or off for one organization, with its audit row (scope `organization`) in the same
 * transaction. The action's global flag is untouched: a globally disabled action stays off for everyone. Any change
 * ends a probe round of that switch. Returns false when the action has no registry row.
 */
export async function setOrganizationEnabled(db: SqlDb, nodeType: string, organizationId: string, enabled: boolean, change: RegistryChange): Promise<boolean> {
  return db.transaction(async (tx) => {
    const known = await tx.query(`SELECT 1 AS present FROM node_registries WHERE node_type = $1`, [nodeType]);
    if (known.length === 0) return false;
    await tx.query(
      `INSERT INTO node_registry_organizations (node_type, organization_id, enabled, updated_by, reason) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (node_type, organization_id) DO UPDATE SET enabled = EXCLUDED.enabled, probe_every = NULL, updated_at = now(),
         updated_by = EXCLUDED.updated_by, reason = EXCLUDED.reason`,
      [nodeType, organizationId, enabled, change.actor, change.reason ?? null],
    );
    await tx.query(
      `INSERT INTO node_registry_audit (node_type, action, actor, reason, details, scope, organization_id)
       VALUES ($1, $2, $3, $4, $5::jsonb, 'organization', $6)`,
      [nodeType, enabled ? 'enable' : 'disable', change.actor, change.reason ?? null, JSON.stringify(change.details ?? {}), organizationId],
    );
    return true;
  });
}

/**
 * Starts (`probeEvery` a number) or ends (null) a probe round of a disabled switch — the action's for everyone, or
 * its switch for one organization — with its audit row (`probe` or `probe_end`) in the same transaction. Returns
 * false, changing nothing, when that switch is not off (a person turned it back on).
 */
export async function setProbing(db: SqlDb, nodeType: string, organizationId: string | null, probeEvery: number | null, change: RegistryChange): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = organizationId === null
      ? await tx.query(`UPDATE node_registries SET probe_every = $2 WHERE node_type = $1 AND enabled = false RETURNING node_type`, [nodeType, probeEvery])
      : await tx.query(
          `UPDATE node_registry_organizations SET probe_every = $3 WHERE node_type = $1 AND organization_id = $2 AND enabled = false RETURNING node_type`,
          [nodeType, organizationId, probeEvery],
        );
    if (rows.length === 0) return false;
    await tx.query(
      `INSERT INTO node_registry_audit (node_type, action, actor, reason, details, scope, organization_id) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`,
      [nodeType, probeEvery === null ? 'probe_end' : 'probe', change.actor, change.reason ?? null, JSON.stringify(change.details ?? {}), organizationId === null ? 'global' : 'organization', organizationId],
    );
    return true;
  });
}

export interface RegistryRow {
  node_type: string;
  enabled: boolean;
  /** Disabled and probing: one call in this many goes through as a probe (null: none). */
  probe_every?: number | null;
}

export async function readRegistry(db: SqlDb): Promise<RegistryRow[]> {
  return db.query<{ node_type: string; enabled: boolean; probe_every: number | null }>(`SELECT node_type, enabled, probe_every FROM node_registries`);
}

export interface OrganizationRegistryRow {
  node_type: string;
  organization_id: string;
  enabled: boolean;
  probe_every?: number | null;
  updated_at?: unknown;
  updated_by?: string | null;
  reason?: string | null;
}

/** The organizations an action is switched off for (overrides switched back on are left out). */
export async function readOrganizationDisables(db: SqlDb): Promise<OrganizationRegistryRow[]> {
  return db.query<{ node_type: string; organization_id: string; enabled: boolean; probe_every: number | null }>(
    `SELECT node_type, organization_id, enabled, probe_every FROM node_registry_organizations WHERE enabled = false`,
  );
}
