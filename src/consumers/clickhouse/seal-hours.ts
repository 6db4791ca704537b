import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickhouseTopology } from './cluster-ddl.ts';
import { toChDateTime } from './metric-queries.ts';

const HOUR = 3600_000;

export interface SealOptions {
  database: string;
  /** Hours that ended at least this long before `nowMs` are sealed (default 15 min: most late events are in). */
  settleMs?: number;
  /** At most this many hours per call (default 168), so one call stays short; the next call goes on. */
  maxHours?: number;
  nowMs?: number;
  topology?: ClickhouseTopology;
}

/**
 * Finalizes the exact counts of closed hours into `action_counts_sealed` (migration 4): every hour whose
 * current sum of `rows` in `action_counts_hourly` has no seal recorded with that same sum gets one. The counts
 * and each group's `rows` come from one query on the rollup (one snapshot), then the seal is recorded with the
 * hour's sum of those `rows`; readers use it only while the rollup's sum is still that (see
 * dashboards/sql/include/counts.sql), so a late event or a duplicate inserted after sealing sends the hour back
 * to the exact states until it is sealed again. Returns the hours sealed.
 */
export async function sealClosedHours(client: ClickHouseClient, o: SealOptions): Promise<number> {
  const db = o.database;
  const nowMs = o.nowMs ?? Date.now();
  const closedBefore = toChDateTime(Math.floor((nowMs - (o.settleMs ?? 15 * 60_000)) / HOUR) * HOUR);
  const pending = await client.query({
    query: `SELECT toString(hour) AS hour FROM (
        SELECT hour, sum(rows) AS hour_rows FROM ${db}.action_counts_hourly
        WHERE hour < {closedBefore:DateTime64(3, 'UTC')} GROUP BY hour
      )
      WHERE (hour, hour_rows) NOT IN (SELECT hour, hour_rows FROM ${db}.action_count_seals)
      ORDER BY hour DESC LIMIT {max:UInt32}`,
    query_params: { closedBefore, max: o.maxHours ?? 168 },
    format: 'JSONEachRow',
  });
  const hours = (await pending.json<{ hour: string }>()).map((r) => r.hour);
  if (hours.length === 0) return 0;
  // Two seals of one hour (two sealers, or one within the same millisecond) must never share rows: an id per seal.
  const sealId = randomUUID();
  const sealedAt = toChDateTime(Date.now());
  // A Distributed insert returns only once every shard has its rows: the seal must not be recorded before its counts.
  const settings = o.topology?.kind === 'cluster' ? { distributed_foreground_insert: 1 } : {};
  await client.command({
    query: `INSERT INTO ${db}.action_counts_sealed
      SELECT hour, event, organization_id, node_type, reason, outcome,
             uniqExactMerge(events) AS n, sum(rows) AS group_rows, {sealId:UUID} AS seal_id
      FROM ${db}.action_counts_hourly
      WHERE has({hours:Array(DateTime('UTC'))}, hour)
      GROUP BY hour, event, organization_id, node_type, reason, outcome`,
    query_params: { hours, sealId },
    clickhouse_settings: { ...settings, insert_deduplicate: 0 },
  });
  await client.command({
    query: `INSERT INTO ${db}.action_count_seals
      SELECT hour, sum(group_rows) AS hour_rows, seal_id, {sealedAt:DateTime64(3, 'UTC')} AS sealed_at
      FROM ${db}.action_counts_sealed
      WHERE seal_id = {sealId:UUID} AND has({hours:Array(DateTime('UTC'))}, hour)
      GROUP BY hour, seal_id`,
    query_params: { hours, sealId, sealedAt },
    clickhouse_settings: { ...settings, insert_deduplicate: 0 },
  });
  return hours.length;
}
