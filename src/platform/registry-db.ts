import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from './logger.ts';

/**
 * The registry database: node_registries, audit trail, tokens, rooms, alert state. One small SQL
 * interface over PostgreSQL (`pg`, when DATABASE_URL is set) or embedded PGlite on disk, so every
 * caller writes the same `$1`-parameterised SQL for both.
 */
export interface SqlDb {
  readonly kind: 'postgres' | 'pglite';
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs fn inside one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; resolves once listening. Returns an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface SqlTx {
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface RegistryDbOptions {
  /** postgres:// URL; when absent, PGlite under `dataDir/pglite` (or in memory with `memory: true`). */
  url?: string;
  dataDir?: string;
  memory?: boolean;
  logger?: Logger;
}

function assertChannel(channel: string): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid LISTEN channel name: ${channel}`);
}

async function openPostgres(url: string, logger?: Logger): Promise<SqlDb> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', (err) => logger?.warn({ err: err.message }, 'registry db idle client error'));
  await pool.query('SELECT 1');
  return {
    kind: 'postgres',
    async query(sql, params) {
      const res = await pool.query(sql, params as unknown[]);
      return res.rows;
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn({ query: async (sql, params) => (await client.query(sql, params as unknown[])).rows });
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async listen(channel, onPayload) {
      assertChannel(channel);
      // LISTEN needs a connection of its own that stays open; a pool would hand it back.
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      client.on('notification', (msg) => {
        if (msg.channel === channel) onPayload(msg.payload ?? '');
      });
      client.on('error', (err) => logger?.warn({ err: err.message, channel }, 'registry db listener error'));
      await client.query(`LISTEN ${channel}`);
      return async () => {
        await client.query(`UNLISTEN ${channel}`).catch(() => undefined);
        await client.end().catch(() => undefined);
      };
    },
    async close() {
      await pool.end();
    },
  };
}

async function openPglite(dataDir: string | undefined, memory: boolean): Promise<SqlDb> {
  const { PGlite } = await import('@electric-sql/pglite');
  let db: InstanceType<typeof PGlite>;
  if (memory || !dataDir) {
    db = new PGlite();
  } else {
    const dir = join(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    db = new PGlite(dir);
  }
  await db.waitReady;
  return {
    kind: 'pglite',
    async query(sql, params) {
      const res = await db.query(sql, params as unknown[]);
      return res.rows as never;
    },
    async transaction(fn) {
      return db.transaction((tx) => fn({ query: async (sql, params) => (await tx.query(sql, params as unknown[])).rows as never }));
    },
    async listen(channel, onPayload) {
      assertChannel(channel);
      const unlisten = await db.listen(channel, onPayload);
      return async () => {
        await unlisten();
      };
    },
    async close() {
      await db.close();
    },
  };
}

export async function openRegistryDb(options: RegistryDbOptions): Promise<SqlDb> {
  if (options.url) return openPostgres(options.url, options.logger);
  return openPglite(options.dataDir, options.memory ?? false);
}
