import type { ClickHouseClient } from '@clickhouse/client';
import { ensureDatabase } from '../../platform/clickhouse-client.ts';
import { forTopology, mergeTreeTables, SINGLE_NODE, storageTable, type ClickhouseTopology } from './cluster-ddl.ts';

/**
 * Versioned schema for the analytics store. Each step is applied once, in order, and recorded in
 * `schema_migrations`; every statement is also `IF NOT EXISTS` so a crash between a statement and its
 * record only repeats harmless work. Minimum server version: ClickHouse 23.8 (uniqExact states in
 * AggregatingMergeTree, `non_replicated_deduplication_window`, `insert_deduplication_token`); chDB 3.4
 * embeds 26.x. Steps never change once released: a change is a new version.
 *
 * Why the raw table is a ReplacingMergeTree keyed by the event: exactness under duplicates is the
 * point. Two kinds of duplicates reach us. (1) Kafka redelivers a batch after a crash or rebalance:
 * the insert dedupe token (topic/partition/offset range) drops the whole repeated block at insert
 * time — when the batch boundaries are the same. (2) A producer retry carries the same event_id at a
 * new offset, or a redelivery is sliced differently: those rows DO land twice. Merges collapse them
 * eventually, never on a schedule, so every read that needs single rows says FINAL (exact, cheap on
 * a monthly partition), and every rollup counts `uniqExact(event_id)` instead of rows — a count that
 * a duplicate cannot change. Identical duplicates share every sort-key column (event time, org,
 * node_type), so they always meet in the same partition and the same rollup group.
 */
export interface Migration {
  version: number;
  name: string;
  statements: (ctx: MigrationContext) => string[];
}

export interface MigrationContext {
  db: string;
  ttlDays: number;
  /**
   * The server knows `deduplicate_merge_projection_mode` (24.8 and later), which must say how merges treat the
   * projection of an AggregatingMergeTree before one can be added; 23.8 adds it without. Default true.
   */
  projectionMergeSetting?: boolean;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'raw action_events',
    statements: ({ db, ttlDays }) => [
      // LowCardinality: enums and org ids repeat millions of times (dictionary-encoded, GROUP BY on ints).
      // ORDER BY (event, organization_id, node_type, timestamp): every dashboard query picks events by
      // name, most filter by org and node_type, then a time range; event_id last makes the key unique.
      // Monthly partitions: TTL drops whole parts and time ranges prune months. No Nullable (slower):
      // '' / 0 stand for "absent", except duration where NULL keeps quantiles honest.
      `CREATE TABLE IF NOT EXISTS ${db}.action_events (
        event_id UUID,
        event LowCardinality(String),
        timestamp DateTime64(3, 'UTC'),
        organization_id LowCardinality(String),
        node_type LowCardinality(String),
        agent_id String,
        conversation_id String,
        reason LowCardinality(String),
        outcome LowCardinality(String),
        duration_ms Nullable(UInt32),
        attempt UInt8,
        upstream_status UInt16,
        source LowCardinality(String),
        trace_id String,
        span_id String,
        schema_version UInt8,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (event, organization_id, node_type, timestamp, event_id)
      TTL toDateTime(timestamp) + INTERVAL ${ttlDays} DAY
      SETTINGS non_replicated_deduplication_window = 10000`,
    ],
  },
  {
    version: 2,
    name: 'hourly rollups fed by materialized views',
    statements: ({ db, ttlDays }) => [
      // Counts per hour and dimension, as exact distinct-event_id states: re-inserted duplicates merge into
      // the same state instead of adding to a sum (a SummingMergeTree would double count them).
      `CREATE TABLE IF NOT EXISTS ${db}.action_counts_hourly (
        hour DateTime('UTC'),
        event LowCardinality(String),
        organization_id LowCardinality(String),
        node_type LowCardinality(String),
        reason LowCardinality(String),
        outcome LowCardinality(String),
        events AggregateFunction(uniqExact, UUID)
      ) ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(hour)
      ORDER BY (event, organization_id, node_type, hour, reason, outcome)
      TTL hour + INTERVAL ${ttlDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.action_counts_hourly_mv TO ${db}.action_counts_hourly AS
        SELECT toStartOfHour(timestamp) AS hour, event, organization_id, node_type, reason, outcome,
               uniqExactState(event_id) AS events
        FROM ${db}.action_events
        GROUP BY hour, event, organization_id, node_type, reason, outcome`,
      // Which agents did what, per hour: a set (one row per agent/hour/event/node_type), so duplicates are
      // harmless by construction and readers count uniqExact(organization_id, agent_id). Feeds adoption.
      `CREATE TABLE IF NOT EXISTS ${db}.agent_activity_hourly (
        hour DateTime('UTC'),
        event LowCardinality(String),
        organization_id LowCardinality(String),
        node_type LowCardinality(String),
        agent_id String
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(hour)
      ORDER BY (event, organization_id, hour, node_type, agent_id)
      TTL hour + INTERVAL ${ttlDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.agent_activity_hourly_mv TO ${db}.agent_activity_hourly AS
        SELECT DISTINCT toStartOfHour(timestamp) AS hour, event, organization_id, node_type, agent_id
        FROM ${db}.action_events
        WHERE agent_id != ''`,
    ],
  },
  {
    version: 3,
    name: 'configuration changes and hourly duration sketches',
    statements: ({ db, ttlDays }) => [
      // `qontak_action_unconfigured` carries `change` (removed | replaced); the sink inserts event JSON as is,
      // so every contract field needs its column.
      `ALTER TABLE ${db}.action_events ADD COLUMN IF NOT EXISTS change LowCardinality(String) DEFAULT '' AFTER outcome`,
      // p50/p95 per action without reading raw rows: one quantileTiming state per hour and dimension (bounded
      // size; exact below 1,024 ms or up to 5,670 values, else to 16 ms; durations above 30 s count as 30 s).
      // quantilesDD was tried first: its merged states drifted by several buckets from a direct sketch.
      // `reason` is kept so blocked calls (which ran nothing) can be left out at read time.
      `CREATE TABLE IF NOT EXISTS ${db}.action_durations_hourly (
        hour DateTime('UTC'),
        event LowCardinality(String),
        organization_id LowCardinality(String),
        node_type LowCardinality(String),
        reason LowCardinality(String),
        durations AggregateFunction(quantilesTiming(0.5, 0.95), UInt32)
      ) ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(hour)
      ORDER BY (event, organization_id, node_type, hour, reason)
      TTL hour + INTERVAL ${ttlDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.action_durations_hourly_mv TO ${db}.action_durations_hourly AS
        SELECT toStartOfHour(timestamp) AS hour, event, organization_id, node_type, reason,
               quantilesTimingState(0.5, 0.95)(assumeNotNull(duration_ms)) AS durations
        FROM ${db}.action_events
        WHERE event IN ('qontak_action_executed', 'qontak_action_failed') AND duration_ms IS NOT NULL
        GROUP BY hour, event, organization_id, node_type, reason`,
      // Events stored before this version: migrations run before the consumer starts, so nothing is inserted
      // between the view's creation and this backfill, and it only runs into an empty table (a repeat after a
      // crash does nothing).
      `INSERT INTO ${db}.action_durations_hourly
        SELECT toStartOfHour(timestamp) AS hour, event, organization_id, node_type, reason,
               quantilesTimingState(0.5, 0.95)(assumeNotNull(duration_ms)) AS durations
        FROM ${db}.action_events FINAL
        WHERE event IN ('qontak_action_executed', 'qontak_action_failed') AND duration_ms IS NOT NULL
          AND (SELECT count() FROM ${db}.action_durations_hourly) = 0
        GROUP BY hour, event, organization_id, node_type, reason`,
    ],
  },
  {
    version: 4,
    name: 'minute counts, a row counter per hourly group, sealed hourly counts',
    statements: ({ db, ttlDays }) => [
      // Merging uniqExact states costs every stored event_id at every read (hundreds of ms at 10M events). An
      // hour's exact counts are therefore finalized once ("sealed", by seal-hours.ts) into plain numbers, and
      // a seal is used only while nothing was inserted into that hour since: `rows` counts every row ever
      // inserted into a group (duplicates included; sums never shrink), so an unchanged sum of `rows` over the
      // hour proves the hour's states are the ones the seal read. Both are read from this one table in one
      // query, so the seal's counts and its row count come from the same snapshot.
      `ALTER TABLE ${db}.action_counts_hourly ADD COLUMN IF NOT EXISTS rows SimpleAggregateFunction(sum, UInt64) DEFAULT 0`,
      `DROP VIEW IF EXISTS ${db}.action_counts_hourly_mv`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.action_counts_hourly_mv TO ${db}.action_counts_hourly AS
        SELECT toStartOfHour(timestamp) AS hour, event, organization_id, node_type, reason, outcome,
               uniqExactState(event_id) AS events, count() AS rows
        FROM ${db}.action_events
        GROUP BY hour, event, organization_id, node_type, reason, outcome`,
      // Exact counts per minute, sorted by time first: the hours that are not sealed (the last ones, or one that
      // received a late event) and the partial hours at the ends of a range read a few contiguous granules here
      // instead of every (event, org, node_type) block of the raw table or the hourly rollup.
      `CREATE TABLE IF NOT EXISTS ${db}.action_counts_minutely (
        minute DateTime('UTC'),
        event LowCardinality(String),
        organization_id LowCardinality(String),
        node_type LowCardinality(String),
        reason LowCardinality(String),
        outcome LowCardinality(String),
        events AggregateFunction(uniqExact, UUID)
      ) ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(minute)
      ORDER BY (minute, event, organization_id, node_type, reason, outcome)
      TTL minute + INTERVAL ${ttlDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.action_counts_minutely_mv TO ${db}.action_counts_minutely AS
        SELECT toStartOfMinute(timestamp) AS minute, event, organization_id, node_type, reason, outcome,
               uniqExactState(event_id) AS events
        FROM ${db}.action_events
        GROUP BY minute, event, organization_id, node_type, reason, outcome`,
      // Events stored before this version (as in version 3: nothing is inserted while migrations run).
      `INSERT INTO ${db}.action_counts_minutely
        SELECT toStartOfMinute(timestamp) AS minute, event, organization_id, node_type, reason, outcome,
               uniqExactState(event_id) AS events
        FROM ${db}.action_events
        WHERE (SELECT count() FROM ${db}.action_counts_minutely) = 0
        GROUP BY minute, event, organization_id, node_type, reason, outcome`,
      // Duration states per minute, time first, for the partial hours at the ends of a range (as the minute counts).
      `CREATE TABLE IF NOT EXISTS ${db}.action_durations_minutely (
        minute DateTime('UTC'),
        event LowCardinality(String),
        organization_id LowCardinality(String),
        node_type LowCardinality(String),
        reason LowCardinality(String),
        durations AggregateFunction(quantilesTiming(0.5, 0.95), UInt32)
      ) ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(minute)
      ORDER BY (minute, event, organization_id, node_type, reason)
      TTL minute + INTERVAL ${ttlDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.action_durations_minutely_mv TO ${db}.action_durations_minutely AS
        SELECT toStartOfMinute(timestamp) AS minute, event, organization_id, node_type, reason,
               quantilesTimingState(0.5, 0.95)(assumeNotNull(duration_ms)) AS durations
        FROM ${db}.action_events
        WHERE event IN ('qontak_action_executed', 'qontak_action_failed') AND duration_ms IS NOT NULL
        GROUP BY minute, event, organization_id, node_type, reason`,
      `INSERT INTO ${db}.action_durations_minutely
        SELECT toStartOfMinute(timestamp) AS minute, event, organization_id, node_type, reason,
               quantilesTimingState(0.5, 0.95)(assumeNotNull(duration_ms)) AS durations
        FROM ${db}.action_events FINAL
        WHERE event IN ('qontak_action_executed', 'qontak_action_failed') AND duration_ms IS NOT NULL
          AND (SELECT count() FROM ${db}.action_durations_minutely) = 0
        GROUP BY minute, event, organization_id, node_type, reason`,
      // Which agents did what, per minute, time first: the partial hours at the ends of a range for the agent sets.
      `CREATE TABLE IF NOT EXISTS ${db}.agent_activity_minutely (
        minute DateTime('UTC'),
        event LowCardinality(String),
        organization_id LowCardinality(String),
        node_type LowCardinality(String),
        agent_id String
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(minute)
      ORDER BY (minute, event, organization_id, node_type, agent_id)
      TTL minute + INTERVAL ${ttlDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.agent_activity_minutely_mv TO ${db}.agent_activity_minutely AS
        SELECT DISTINCT toStartOfMinute(timestamp) AS minute, event, organization_id, node_type, agent_id
        FROM ${db}.action_events
        WHERE agent_id != ''`,
      `INSERT INTO ${db}.agent_activity_minutely
        SELECT DISTINCT toStartOfMinute(timestamp) AS minute, event, organization_id, node_type, agent_id
        FROM ${db}.action_events
        WHERE agent_id != '' AND (SELECT count() FROM ${db}.agent_activity_minutely) = 0`,
      // Sealed counts: one row per hourly group with its exact count `n` and its `rows` at sealing time. Several
      // seals of one hour can coexist (a late event makes the hour seal again); readers take only the rows of
      // the one seal (`seal_id`) that is valid now (see action_count_seals), so nothing here is collapsed or summed.
      `CREATE TABLE IF NOT EXISTS ${db}.action_counts_sealed (
        hour DateTime('UTC'),
        event LowCardinality(String),
        organization_id LowCardinality(String),
        node_type LowCardinality(String),
        reason LowCardinality(String),
        outcome LowCardinality(String),
        n UInt64,
        group_rows UInt64,
        seal_id UUID
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(hour)
      ORDER BY (event, organization_id, node_type, hour, reason, outcome)
      TTL hour + INTERVAL ${ttlDays} DAY`,
      // One row per completed seal, written after its counts: `hour_rows` = the hour's sum of `rows` the counts
      // were read at. A seal whose counts were written but that is not recorded here (a crash) is never read.
      `CREATE TABLE IF NOT EXISTS ${db}.action_count_seals (
        hour DateTime('UTC'),
        hour_rows UInt64,
        seal_id UUID,
        sealed_at DateTime64(3, 'UTC')
      ) ENGINE = MergeTree
      ORDER BY (hour, sealed_at)
      TTL hour + INTERVAL ${ttlDays} DAY`,
    ],
  },
  {
    version: 5,
    name: 'registry scope of blocked calls and recovery probes',
    statements: ({ db }) => [
      // The contract's `registry_scope` (which switch refused a blocked call) and `probe` (a half-open recovery
      // call); the sink inserts event JSON as is, so each needs its column. '' / false stand for "absent".
      `ALTER TABLE ${db}.action_events ADD COLUMN IF NOT EXISTS registry_scope LowCardinality(String) DEFAULT '' AFTER upstream_status`,
      `ALTER TABLE ${db}.action_events ADD COLUMN IF NOT EXISTS probe Bool DEFAULT false AFTER registry_scope`,
    ],
  },
  {
    version: 6,
    name: 'per-hour row counts of the hourly rollup as a projection, for the seal check',
    statements: ({ db, projectionMergeSetting = true }) => [
      // Every count query checks that each sealed hour is still valid: the hour's sum of `rows` in the hourly rollup
      // equals the seal's `hour_rows` (include/sealed_hours.sql). Summed over the rollup's groups that read millions
      // of rows at every check (~70 ms of CPU at 10M events, three checks per count query). An aggregate projection
      // keeps that sum per hour inside each part of the rollup, so the check reads a few rows per part, from the
      // same parts as before (same snapshot): a seal means what it meant. `rebuild`: a merge recomputes the
      // projection from the merged rows, whose `rows` the AggregatingMergeTree merge summed.
      ...(projectionMergeSetting ? [`ALTER TABLE ${db}.action_counts_hourly MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'`] : []),
      `ALTER TABLE ${db}.action_counts_hourly ADD PROJECTION IF NOT EXISTS hour_rows (SELECT hour, sum(rows) GROUP BY hour)`,
      // Parts written before this version get it in the background (a mutation); until then they are read as before.
      `ALTER TABLE ${db}.action_counts_hourly MATERIALIZE PROJECTION hour_rows`,
    ],
  },
];

export interface MigrationOptions {
  database: string;
  ttlDays: number;
  /** Single node (default), a self-managed cluster or ClickHouse Cloud: see cluster-ddl.ts. */
  topology?: ClickhouseTopology;
}

const schemaMigrationsTable = (db: string) => `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY version`;

/**
 * Runs single-node DDL on the configured topology: each statement becomes the statements cluster-ddl.ts
 * makes of it. The MergeTree tables of every migration are known up front, so a view of a later
 * migration reads the right (local) table of an earlier one.
 */
type RunStatement = (query: string, settings?: Record<string, number>) => Promise<void>;

export function topologyStatements(o: MigrationOptions): (query: string) => string[] {
  const ctx: MigrationContext = { db: o.database, ttlDays: o.ttlDays };
  const tables = mergeTreeTables([schemaMigrationsTable(o.database), ...MIGRATIONS.flatMap((m) => m.statements(ctx))], o.database);
  return (query) => forTopology(query, o.topology ?? SINGLE_NODE, o.database, tables);
}

/** Every statement a fresh install runs on the topology, in order (the DDL tests parse each one). */
export function plannedDdl(o: MigrationOptions): string[] {
  const statements = topologyStatements(o);
  const ctx: MigrationContext = { db: o.database, ttlDays: o.ttlDays };
  return [schemaMigrationsTable(o.database), ...MIGRATIONS.flatMap((m) => m.statements(ctx)), ...ttlStatements(o.database, o.ttlDays)].flatMap(statements);
}

function topologyRunner(client: ClickHouseClient, o: MigrationOptions): { run: RunStatement } {
  const statements = topologyStatements(o);
  // A Distributed insert returns only when every shard has its rows (a backfill statement, schema_migrations).
  const cluster = o.topology?.kind === 'cluster' ? { distributed_foreground_insert: 1 } : {};
  return {
    async run(query, settings) {
      for (const q of statements(query)) await client.command({ query: q, clickhouse_settings: { ...cluster, ...settings } });
    },
  };
}

/** Applies the missing migrations, then the configured TTL (a setting, so re-applied on every start). */
export async function runMigrations(client: ClickHouseClient, o: MigrationOptions): Promise<number[]> {
  const topology = o.topology ?? SINGLE_NODE;
  await ensureDatabase(client, o.database, topology.kind === 'cluster' ? topology.cluster : undefined);
  const db = o.database;
  const ddl = topologyRunner(client, o);
  await ddl.run(schemaMigrationsTable(db));
  const done = await client.query({ query: `SELECT DISTINCT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' });
  const applied = new Set((await done.json<{ version: number }>()).map((r) => Number(r.version)));
  const setting = await client.query({ query: `SELECT count() AS n FROM system.merge_tree_settings WHERE name = 'deduplicate_merge_projection_mode'`, format: 'JSONEachRow' });
  const ctx: MigrationContext = { db, ttlDays: o.ttlDays, projectionMergeSetting: Number((await setting.json<{ n: number }>())[0].n) > 0 };
  const ran: number[] = [];
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    for (const query of m.statements(ctx)) await ddl.run(query);
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
      clickhouse_settings: topology.kind === 'cluster' ? { distributed_foreground_insert: 1 } : undefined,
    });
    ran.push(m.version);
  }
  await applyTtl(client, o, ddl.run);
  return ran;
}

async function applyTtl(client: ClickHouseClient, { database: db, ttlDays, topology }: MigrationOptions, run: RunStatement): Promise<void> {
  const current = await client.query({
    query: `SELECT create_table_query AS q FROM system.tables WHERE database = {db:String} AND name = {table:String}`,
    query_params: { db, table: storageTable('action_events', topology ?? SINGLE_NODE) },
    format: 'JSONEachRow',
  });
  const [row] = await current.json<{ q: string }>();
  if (row && !row.q.includes(`toIntervalDay(${ttlDays})`)) {
    // Changing the retention must not rewrite old parts on start-up: the new TTL applies at the next merge.
    for (const query of ttlStatements(db, ttlDays)) await run(query, { materialize_ttl_after_modify: 0 });
  }
}

function ttlStatements(db: string, ttlDays: number): string[] {
  return [
    `ALTER TABLE ${db}.action_events MODIFY TTL toDateTime(timestamp) + INTERVAL ${ttlDays} DAY`,
    ...['action_counts_hourly', 'agent_activity_hourly', 'action_durations_hourly', 'action_counts_sealed', 'action_count_seals'].map((t) => `ALTER TABLE ${db}.${t} MODIFY TTL hour + INTERVAL ${ttlDays} DAY`),
    ...['action_counts_minutely', 'action_durations_minutely', 'agent_activity_minutely'].map((t) => `ALTER TABLE ${db}.${t} MODIFY TTL minute + INTERVAL ${ttlDays} DAY`),
  ];
}
