import { queryBind } from 'chdb';
import { describe, expect, it } from 'vitest';
import { forTopology, mergeTreeTables, type ClickhouseTopology } from '../../../src/consumers/clickhouse/cluster-ddl.ts';
import { insertSettings } from '../../../src/consumers/clickhouse/clickhouse-sink.ts';
import { MIGRATIONS, plannedDdl } from '../../../src/consumers/clickhouse/migrations.ts';

/**
 * No ClickHouse server or cluster can run on this machine, so the DDL generated for a cluster and for
 * ClickHouse Cloud is checked by the embedded engine's own parser (formatQuery throws on anything it
 * cannot parse) and by what the parsed statements say. Every migration goes through, including ones
 * added after this test was written.
 */
const DB = 'ap';
const CLUSTER: ClickhouseTopology = { kind: 'cluster', cluster: 'analytics' };
const CLOUD: ClickhouseTopology = { kind: 'cloud' };

/** The engine's canonical text of a statement (one line): a syntax error throws. */
function parsed(sql: string): string {
  return String(queryBind('SELECT formatQuerySingleLine({q:String})', { q: sql }, 'TSVRaw')).trim();
}

const single = plannedDdl({ database: DB, ttlDays: 400 });
const singleTables = [...mergeTreeTables(single, DB)].sort();

describe('ClickHouse DDL per topology', () => {
  it('single node: the migrations run exactly as written', () => {
    const ctx = { db: DB, ttlDays: 400 };
    for (const s of MIGRATIONS.flatMap((m) => m.statements(ctx))) expect(single).toContain(s);
    expect(singleTables).toEqual(expect.arrayContaining(['action_events', 'action_counts_hourly', 'agent_activity_hourly', 'schema_migrations']));
  });

  it('cluster: every statement parses, runs ON CLUSTER, and every MergeTree table is Replicated behind a Distributed table', () => {
    const ddl = plannedDdl({ database: DB, ttlDays: 400, topology: CLUSTER }).map(parsed);
    // DDL runs on every node; a backfill (INSERT … SELECT) runs once, through the Distributed tables.
    for (const s of ddl) expect(s, s).toMatch(s.startsWith('INSERT INTO') ? new RegExp(`^INSERT INTO ${DB}\\.\\w+ SELECT`) : / ON CLUSTER analytics( |$)/);
    expect(ddl.join('\n')).not.toMatch(/INSERT INTO \w+\.\w+_local/);
    expect(ddl.join('\n')).not.toMatch(/non_replicated_deduplication_window/);
    for (const t of singleTables) {
      const local = ddl.filter((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${DB}.${t}_local `));
      expect(local, t).toHaveLength(1);
      expect(local[0], t).toMatch(/ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'/);
      const front = ddl.filter((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${DB}.${t} `));
      expect(front, t).toHaveLength(1);
      expect(front[0], t).toContain(`AS ${DB}.${t}_local ENGINE = Distributed('analytics', '${DB}', '${t}_local'`);
    }
    // All copies of one event meet on one shard, where FINAL collapses them.
    expect(ddl.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${DB}.action_events `))).toContain('cityHash64(event_id)');
    // The dedupe window of the raw table carries over to the replicated setting.
    expect(ddl.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${DB}.action_events_local `))).toContain('replicated_deduplication_window = 10000');
  });

  it('cluster: materialized views read and write the local tables of their shard; TTL changes go to the storage', () => {
    const ddl = plannedDdl({ database: DB, ttlDays: 400, topology: CLUSTER }).map(parsed);
    const views = ddl.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'));
    expect(views.length).toBeGreaterThanOrEqual(2);
    for (const v of views) {
      const refs = [...v.matchAll(new RegExp(`\\b${DB}\\.(\\w+)`, 'g'))].map((m) => m[1]).slice(1);
      expect(refs.length, v).toBeGreaterThanOrEqual(2);
      for (const r of refs) expect(r, v).toMatch(/_local$/);
    }
    const ttl = ddl.filter((s) => s.startsWith('ALTER TABLE') && s.includes('MODIFY TTL'));
    expect(ttl.length).toBe(singleTables.length - 1); // every table but schema_migrations has a TTL
    for (const a of ttl) expect(a).toMatch(new RegExp(`^ALTER TABLE ${DB}\\.\\w+_local ON CLUSTER analytics \\(MODIFY TTL`));
    // A column added by a migration reaches the storage and the Distributed table in front of it.
    const added = ddl.filter((s) => s.includes('ADD COLUMN'));
    for (const a of added) {
      const column = /ADD COLUMN IF NOT EXISTS (`?\w+`?)/.exec(a)?.[1];
      const table = a.split(' ')[2].replace(/_local$/, '');
      expect(added.filter((b) => b.includes(`ADD COLUMN IF NOT EXISTS ${column}`)).map((b) => b.split(' ')[2]).sort(), a).toEqual([table, `${table}_local`]);
    }
    expect(added.length).toBeGreaterThanOrEqual(4);
  });

  it('ClickHouse Cloud: every statement parses, Shared engines, no cluster name, no Distributed tables', () => {
    const ddl = plannedDdl({ database: DB, ttlDays: 400, topology: CLOUD }).map(parsed);
    expect(ddl).toHaveLength(single.length);
    const text = ddl.join('\n');
    expect(text).not.toMatch(/ON CLUSTER|Distributed|_local|non_replicated_deduplication_window/);
    const engines = ddl.flatMap((s) => [...s.matchAll(/ENGINE = (\w+)/g)].map((m) => m[1]));
    expect(engines.length).toBe(singleTables.length);
    for (const e of engines) expect(e).toMatch(/^Shared\w*MergeTree$/);
  });

  it('a migration added later gets the same treatment: a new rollup, its view, a column added to the raw table', () => {
    const future = [
      `CREATE TABLE IF NOT EXISTS ${DB}.latency_daily (day Date, node_type LowCardinality(String), n SimpleAggregateFunction(sum, UInt64))
        ENGINE = SummingMergeTree((n)) PARTITION BY toYYYYMM(day) ORDER BY (node_type, day)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.latency_daily_mv TO ${DB}.latency_daily AS
        SELECT toDate(timestamp) AS day, node_type, count() AS n FROM ${DB}.action_events GROUP BY day, node_type`,
      `ALTER TABLE ${DB}.action_events ADD COLUMN IF NOT EXISTS region LowCardinality(String) DEFAULT ''`,
      `INSERT INTO ${DB}.latency_daily SELECT toDate(timestamp), node_type, count() FROM ${DB}.action_events GROUP BY 1, 2`,
    ];
    const tables = mergeTreeTables([...single, ...future], DB);
    const out = future.flatMap((s) => forTopology(s, CLUSTER, DB, tables)).map(parsed);
    expect(out[0]).toMatch(/^CREATE TABLE IF NOT EXISTS ap\.latency_daily_local ON CLUSTER analytics .*ENGINE = ReplicatedSummingMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}', \(n\)\)/);
    expect(out[1]).toMatch(/^CREATE TABLE IF NOT EXISTS ap\.latency_daily ON CLUSTER analytics AS ap\.latency_daily_local ENGINE = Distributed\('analytics', 'ap', 'latency_daily_local', rand\(\)\)$/);
    expect(out[2]).toMatch(/^CREATE MATERIALIZED VIEW IF NOT EXISTS ap\.latency_daily_mv ON CLUSTER analytics TO ap\.latency_daily_local .* FROM ap\.action_events_local /);
    // A new column must exist on the storage and on the Distributed table in front of it.
    expect(out[3]).toMatch(/^ALTER TABLE ap\.action_events_local ON CLUSTER analytics \(ADD COLUMN/);
    expect(out[4]).toMatch(/^ALTER TABLE ap\.action_events ON CLUSTER analytics \(ADD COLUMN/);
    // A backfill runs once, through the Distributed tables, over every shard.
    expect(out[5]).toBe(parsed(future[3]));
  });

  it('refuses statements it cannot place instead of guessing', () => {
    const tables = mergeTreeTables(single, DB);
    expect(() => forTopology(`RENAME TABLE ${DB}.a TO ${DB}.b`, CLUSTER, DB, tables)).toThrow(/cluster DDL/);
    expect(() => forTopology(`CREATE TABLE ${DB}.kv (k String) ENGINE = Memory`, CLUSTER, DB, tables)).toThrow(/no MergeTree-family engine/);
  });

  it('sink inserts on a cluster wait for every shard; single node and Cloud keep the plain settings', () => {
    expect(insertSettings('t', CLUSTER)).toMatchObject({ distributed_foreground_insert: 1, insert_deduplication_token: 't', insert_deduplicate: 1 });
    expect(insertSettings('t', CLOUD)).not.toHaveProperty('distributed_foreground_insert');
    expect(insertSettings('t')).not.toHaveProperty('distributed_foreground_insert');
  });
});
