import { Router } from 'express';
import type { ClickHouseClient } from '@clickhouse/client';
import { weeklyReview } from '../consumers/alerts/weekly-review.ts';
import { AuditTrailDecisions } from '../consumers/alerts/registry-decisions.ts';
import type { SqlDb } from '../platform/registry-db.ts';
import { tokenMatches } from '../consumers/alerts/admin-router.ts';
import type { RateThresholds } from '../consumers/alerts/rate-thresholds.ts';
import { ClickhouseWeekCounts, weekStartOf } from '../consumers/clickhouse/week-counts.ts';

/**
 * GET /v1/reports/weekly?week_of=YYYY-MM-DD — the spec §11.1 weekly review (Markdown, Slack digest, flags)
 * from ClickHouse, with the week's registry decisions from the audit trail. Admin-authenticated like the rest of /v1: it reveals per-organization operations data. The
 * thresholds it states are the alert rules' (`loadRateThresholds`).
 */
export function createReportRouter(o: { clickhouse: ClickHouseClient; database: string; adminToken: string; thresholds: RateThresholds; db?: SqlDb }): Router {
  const router = Router();
  const provider = new ClickhouseWeekCounts(o.clickhouse, o.database);
  // The week's disables and re-enables come from the registry's audit trail.
  const registry = o.db ? new AuditTrailDecisions(o.db) : undefined;
  router.get('/v1/reports/weekly', async (req, res) => {
    if (!tokenMatches(o.adminToken, req.headers.authorization)) return void res.status(401).json({ error: 'unauthorized' });
    const weekOf = typeof req.query.week_of === 'string' ? req.query.week_of : undefined;
    const at = weekOf ? Date.parse(`${weekOf}T00:00:00Z`) : Date.now();
    if (Number.isNaN(at) || (weekOf && !/^\d{4}-\d{2}-\d{2}$/.test(weekOf))) return void res.status(400).json({ error: 'invalid_request', detail: 'week_of is a date, YYYY-MM-DD' });
    res.json(await weeklyReview(provider, weekStartOf(at), o.thresholds, registry));
  });
  return router;
}
