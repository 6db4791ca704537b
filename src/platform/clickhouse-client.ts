import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type * as ChdbConnection from 'chdb/connection';

/**
 * chDB (the whole ClickHouse engine, ~150 MB resident once loaded) is required only when an embedded engine
 * is created, so a process that talks to a ClickHouse server, or to none, never loads it.
 */
const requireLazily = createRequire(import.meta.url);

export interface ClickhouseOptions {
  /** ClickHouse HTTP(S) URL; unset = the embedded chDB engine under `dataDir`. */
  url?: string;
  username?: string;
  password?: string;
  /**
   * The database Actionpulse uses. Deliberately NOT bound as the client's default database: the
   * chDB connection ignores that setting, and over HTTP a default database that does not exist yet
   * makes even `CREATE DATABASE` fail. Code qualifies every table as `<database>.<table>`, which
   * behaves the same on both engines; call `ensureDatabase(client, database)` once at start-up.
   */
  database?: string;
  /** Local state folder; the embedded engine keeps its data in `<dataDir>/chdb`. */
  dataDir: string;
}

type ClientConfig = NonNullable<Parameters<typeof createClient>[0]>;

export type ClickhouseEngine = 'http' | 'chdb';

/**
 * Settings sent with every query on both engines, so results look the same everywhere. chDB
 * returns 64-bit integers as JSON numbers and a server as strings unless told: we pin numbers
 * (counts and millisecond times fit a double); cast to String in SQL where exact UInt64 matters.
 */
const SHARED_SETTINGS = { output_format_json_quote_64bit_integers: 0 } as const;

/** Where the embedded engine of a given data folder keeps its files. */
export function chdbPath(dataDir: string): string {
  return resolve(join(dataDir, 'chdb'));
}

/**
 * The one way to get a ClickHouse client: a real server over `url`, or the same engine in-process
 * (chDB) when no URL is configured. Callers use the `@clickhouse/client` API either way.
 *
 * chDB binds ONE data folder per process: a second client on the same `dataDir` shares its data,
 * a client on a different folder throws while the first is open. So one process owns a folder;
 * other processes reach the data through that process, or use a folder of their own.
 */
export function createClickhouse(options: ClickhouseOptions): ClickHouseClient {
  if (options.url) {
    return createClient({
      url: options.url,
      username: options.username ?? 'default',
      password: options.password ?? '',
      application: 'actionpulse',
      clickhouse_settings: SHARED_SETTINGS,
    });
  }
  const path = chdbPath(options.dataDir);
  mkdirSync(path, { recursive: true });
  // chdb implements the Connection contract of the separately published @clickhouse/client-common,
  // while @clickhouse/client 1.23 bundles its own copy of those types: same shape, different
  // declarations, so TypeScript needs the cast. The integration test exercises the contract.
  const { createChdbConnection } = requireLazily('chdb/connection') as typeof ChdbConnection;
  const connection = createChdbConnection({ path }) as unknown as ClientConfig['connection'];
  return createClient({ connection, clickhouse_settings: SHARED_SETTINGS });
}

/** Which engine a client from `createClickhouse` talks to (for logs and start-up messages). */
export function clickhouseEngine(options: Pick<ClickhouseOptions, 'url'>): ClickhouseEngine {
  return options.url ? 'http' : 'chdb';
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Creates the database if absent, on every node of `cluster` when given. The name is checked because DDL
 * cannot take it as a parameter.
 */
export async function ensureDatabase(client: ClickHouseClient, name: string, cluster?: string): Promise<void> {
  if (!DATABASE_NAME.test(name)) throw new Error(`invalid ClickHouse database name: ${JSON.stringify(name)}`);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${name}${cluster ? ` ON CLUSTER '${cluster}'` : ''}` });
}
