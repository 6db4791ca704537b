import type { ClickHouseClient } from '@clickhouse/client';
import { addToWeek, emptyWeek, type WeekCounts, type WeekCountsProvider } from '../alerts/weekly-review.ts';
import { toChDateTime } from './metric-queries.ts';

/**
 * Weekly-review counts (spec §11.1) from the hourly rollup. An event_id falls in exactly one rollup group
 * (its hour, name, organization, node_type, reason and outcome are its own), so summing the per-group
 * exact distinct counts is itself exact, duplicates included.
 */
const SQL = `
SELECT event, node_type, reason, outcome, uniqExactMerge(events) AS n
FROM {db:Identifier}.action_counts_hourly
WHERE hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}
  AND event IN ('qontak_action_invoked', 'qontak_action_executed', 'qontak_action_failed', 'qontak_action_token_refreshed')
GROUP BY event, node_type, reason, outcome`;

interface Row {
  event: string;
  node_type: string;
  reason: string;
  outcome: string;
  n: number;
}

export class ClickhouseWeekCounts implements WeekCountsProvider {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  async weekCounts(fromMs: number, toMs: number): Promise<WeekCounts> {
    const rs = await this.client.query({
      query: SQL,
      query_params: { db: this.database, from: toChDateTime(fromMs), to: toChDateTime(toMs) },
      format: 'JSONEachRow',
    });
    const w = emptyWeek(fromMs);
    for (const r of (await rs.json()) as Row[]) {
      const n = Number(r.n);
      if (r.event === 'qontak_action_token_refreshed') {
        if (r.outcome === 'success') w.tokenRefresh.success += n;
        else if (r.outcome === 'failed') w.tokenRefresh.failed += n;
        continue;
      }
      addToWeek(w, r.event, r.node_type, r.reason, n);
    }
    return w;
  }
}

/** Monday 00:00 UTC of the week containing `ms`. */
export function weekStartOf(ms: number): number {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
}
