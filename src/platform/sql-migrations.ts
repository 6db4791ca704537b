import type { SqlDb } from './registry-db.ts';

/**
 * Versioned schema for the registry database (PostgreSQL or PGlite), the same scheme as ClickHouse's
 * (src/consumers/clickhouse/migrations.ts): each component lists ordered migrations; each is applied once,
 * in its own transaction with its record in `schema_migrations`, so a migration is all or nothing. A
 * migration never changes once released: a change is a new version appended to the list. Every component
 * runs under one advisory lock (PostgreSQL), so services starting together apply each step once.
 *
 * Version 1 of each component is the DDL that existed before versioning, written `IF NOT EXISTS`: on a
 * database created by an earlier release it finds the tables in place, keeps their rows, and is recorded.
 * Tables are unqualified and land in the connection's search_path (tests use a schema each).
 */
export interface SqlMigration {
  version: number;
  name: string;
  /** One statement per entry (PGlite's extended protocol takes one at a time). */
  statements: readonly string[];
}

const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  component   text NOT NULL,
  version     integer NOT NULL,
  name        text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (component, version)
)`;

/** Applies the migrations of `component` not yet recorded; returns the versions it applied. */
export async function runSqlMigrations(db: SqlDb, component: string, migrations: readonly SqlMigration[]): Promise<number[]> {
  assertOrdered(component, migrations);
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await db.transaction(async (tx) => {
      if (db.kind === 'postgres') await tx.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.actionpulse_migrations'))`);
      await tx.query(VERSION_TABLE);
      const [row] = await tx.query(`SELECT 1 AS present FROM schema_migrations WHERE component = $1 AND version = $2`, [component, m.version]);
      if (row) return false;
      for (const statement of m.statements) await tx.query(statement);
      await tx.query(`INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)`, [component, m.version, m.name]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

/** The versions of `component` recorded as applied, in order. */
export async function appliedSqlMigrations(db: SqlDb, component: string): Promise<number[]> {
  await db.query(VERSION_TABLE);
  const rows = await db.query<{ version: number }>(`SELECT version FROM schema_migrations WHERE component = $1 ORDER BY version`, [component]);
  return rows.map((r) => Number(r.version));
}

function assertOrdered(component: string, migrations: readonly SqlMigration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${component} migrations must be numbered 1, 2, 3… in order; found ${m.version} at position ${i + 1}`);
  });
}
