import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ALERT_MIGRATIONS, migrateAlerts } from '../../../src/consumers/alerts/alert-store-schema.ts';
import { migrateRegistry, REGISTRY_MIGRATIONS } from '../../../src/executors/registry-schema.ts';
import { openRegistryDb, type SqlDb } from '../../../src/platform/registry-db.ts';
import { appliedSqlMigrations, runSqlMigrations } from '../../../src/platform/sql-migrations.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];

afterAll(async () => {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
});

/** A fresh PostgreSQL schema of this test's own (the server is shared). */
async function freshPostgres(): Promise<SqlDb> {
  const schema = `mig_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  return openRegistryDb({ url: `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` });
}

const stores: [string, () => Promise<SqlDb>][] = [
  ['PostgreSQL', freshPostgres],
  ['PGlite', () => openRegistryDb({ memory: true })],
];

describe.each(stores)('versioned registry-database migrations on %s', (_name, open) => {
  it("upgrades a database created by the release before versioning: today's tables and rows are kept, every version recorded, the outbox's episodes taken", async () => {
    const db = await open();
    try {
      // The database as the unversioned release left it: its DDL, run as it was, with no version table.
      for (const statement of [...REGISTRY_MIGRATIONS[0].statements, ...ALERT_MIGRATIONS[0].statements]) await db.query(statement);
      await db.query(`INSERT INTO node_registries (node_type, enabled, updated_by, reason) VALUES ('qontak_crm_deal_update', false, 'kill-switch', 'failure rate')`);
      await db.query(`INSERT INTO node_registry_audit (node_type, action, actor, reason) VALUES ('qontak_crm_deal_update', 'disable', 'kill-switch', 'failure rate')`);
      await db.query(`INSERT INTO alert_silences (id, matchers, creator, comment, ends_at) VALUES ('s-1', '{"rule_id":"r"}'::jsonb, 'dina', 'maintenance', now() + interval '1 hour')`);
      await db.query(`INSERT INTO alert_checkpoint (id, evaluated_through) VALUES ('main', 1700000000000)`);
      // An episode the release paged for, on two channels: its trigger and its resolve.
      const payload = (kind: string, at: number) => JSON.stringify({ kind, title: 'Failure rate', severity: 'error', ruleKind: 'ratio', threshold: 0.1, windowMinutes: 60, at, value: 0.4, scope: { node_type: 'qontak_crm_deal_update' }, ...(kind === 'resolve' ? { resolution: 'healthy' } : {}) });
      for (const [channel, kind, at] of [['slack', 'trigger', 1700000000000], ['pd', 'trigger', 1700000000000], ['slack', 'resolve', 1700000600000]] as const) {
        await db.query(
          `INSERT INTO alert_outbox (transition_key, rule_id, scope_key, receiver, channel, kind, dedup_key, episode, payload, status) VALUES ($1, 'r1', 'node_type=qontak_crm_deal_update', 'bot', $2, $3, 'd', 1, $4::jsonb, 'sent')`,
          [`k-${channel}-${kind}`, channel, kind, payload(kind, at)],
        );
      }

      await migrateRegistry(db);
      await migrateAlerts(db);

      // Version 1 is recorded as found; later versions apply on top of it.
      expect(await appliedSqlMigrations(db, 'registry')).toEqual(REGISTRY_MIGRATIONS.map((m) => m.version));
      expect(await appliedSqlMigrations(db, 'alerts')).toEqual(ALERT_MIGRATIONS.map((m) => m.version));
      const [deal] = await db.query<{ enabled: boolean; updated_by: string }>(`SELECT enabled, updated_by FROM node_registries WHERE node_type = 'qontak_crm_deal_update'`);
      expect(deal).toEqual({ enabled: false, updated_by: 'kill-switch' });
      expect(await db.query(`SELECT count(*)::int AS n FROM node_registries WHERE enabled`)).toEqual([{ n: 6 }]);
      // Audit rows written before organization scopes read as global changes.
      expect(await db.query(`SELECT actor, scope, organization_id FROM node_registry_audit`)).toEqual([{ actor: 'kill-switch', scope: 'global', organization_id: null }]);
      expect(await db.query(`SELECT id, comment FROM alert_silences`)).toEqual([{ id: 's-1', comment: 'maintenance' }]);
      expect(await db.query(`SELECT evaluated_through::text AS t FROM alert_checkpoint`)).toEqual([{ t: '1700000000000' }]);
      // Version 3 takes the episodes the outbox recorded.
      expect(await db.query(`SELECT rule_id, episode, title, fired_at::text AS fired, resolved_at::text AS resolved, resolution FROM alert_episodes`)).toEqual([
        { rule_id: 'r1', episode: 1, title: 'Failure rate', fired: '1700000000000', resolved: '1700000600000', resolution: 'healthy' },
      ]);
    } finally {
      await db.close();
    }
  }, 240_000);

  it('applies each version once, in order; an appended version applies on the next start; a failing one is not recorded', async () => {
    const db = await open();
    try {
      const shipped = ALERT_MIGRATIONS.map((m) => m.version);
      const next = shipped.length + 1;
      expect(await runSqlMigrations(db, 'alerts', ALERT_MIGRATIONS)).toEqual(shipped);
      expect(await runSqlMigrations(db, 'alerts', ALERT_MIGRATIONS)).toEqual([]);
      const v2 = { version: next, name: 'silence ticket', statements: ['ALTER TABLE alert_silences ADD COLUMN ticket text'] };
      expect(await runSqlMigrations(db, 'alerts', [...ALERT_MIGRATIONS, v2])).toEqual([next]);
      expect(await runSqlMigrations(db, 'alerts', [...ALERT_MIGRATIONS, v2])).toEqual([]);
      const broken = { version: next + 1, name: 'broken', statements: ['ALTER TABLE alert_silences ADD COLUMN half text', 'ALTER TABLE no_such_table ADD COLUMN x text'] };
      await expect(runSqlMigrations(db, 'alerts', [...ALERT_MIGRATIONS, v2, broken])).rejects.toThrow();
      expect(await appliedSqlMigrations(db, 'alerts')).toEqual([...shipped, next]);
      // All or nothing: the first statement of the failed version was rolled back with it.
      expect(await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'alert_silences' AND column_name IN ('ticket', 'half') AND table_schema = current_schema()`)).toEqual([{ column_name: 'ticket' }]);
      await expect(runSqlMigrations(db, 'alerts', [v2])).rejects.toThrow(/numbered 1, 2, 3/);
    } finally {
      await db.close();
    }
  }, 240_000);
});
