import type { ClickHouseClient } from '@clickhouse/client';
import { QUICK_RANGES, type QuickRange } from './dashboard-filters.ts';
import { toChDateTime } from './metric-queries.ts';

export interface DataSpan {
  /** The quick range a page without a range opens on. */
  defaultRange: QuickRange;
  /** The first minute holding an event in the last 28 days, or null: no event yet (a first run). */
  firstEventMs: number | null;
}

/** Candidates for the default, shortest first; 1 h is left out, it would hide most of a day-old run. */
const DEFAULTS: QuickRange[] = ['24h', '7d', '28d'];

/**
 * The default range follows the data: the shortest of 24 h, 7 d, 28 d that holds the first event of the last
 * 28 days, so a run a few minutes old fills the charts instead of being a spike at the right edge of four
 * weeks. Reads the minute rollup, sorted by minute first: in that order, with LIMIT 1, the read stops at the first
 * granule (a min() and count() over the range read every minute of four weeks, ~9M rows at 10M events).
 */
export async function dataSpan(client: ClickHouseClient, database: string, now: number): Promise<DataSpan> {
  const since = now - QUICK_RANGES['28d'];
  const result = await client.query({
    query: `SELECT toUnixTimestamp(minute) * 1000 AS first FROM {db:Identifier}.action_counts_minutely WHERE minute >= {since:DateTime64(3, 'UTC')} ORDER BY minute LIMIT 1`,
    query_params: { db: database, since: toChDateTime(Math.floor(since / 60_000) * 60_000) },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ first: number }>();
  const firstEventMs = row ? Number(row.first) : null;
  const age = firstEventMs === null ? 0 : now - firstEventMs;
  const defaultRange = DEFAULTS.find((r) => age <= QUICK_RANGES[r]) ?? '28d';
  return { defaultRange, firstEventMs };
}
