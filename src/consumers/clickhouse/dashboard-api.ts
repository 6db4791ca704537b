import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { NODE_TYPE_NAMES, NODE_TYPES } from '../../events/index.ts';
import type { Logger } from '../../platform/logger.ts';
import { thresholdsJson, type RateThresholds } from '../alerts/rate-thresholds.ts';
import { bucketMinutesFor, isMetricName, METRIC_NAMES, runMetric, type MetricFilters } from './metric-queries.ts';

export const WEB_DIR = resolve(join(dirname(fileURLToPath(import.meta.url)), '../../../dashboards/web'));
const HOUR = 3600_000;
const MINUTE = 60_000;
const SECOND = 1000;

export interface DashboardRouterOptions {
  clickhouse: ClickHouseClient;
  database: string;
  logger: Logger;
  /**
   * The alert rules' thresholds (`loadRateThresholds` with the alerts settings), sent to the SQL as parameters and
   * to the page, so the dashboard flags a rate where the alerts would.
   */
  thresholds: RateThresholds;
  /** Default range when the request names none: the last `defaultDays` days up to the current minute. */
  defaultDays?: number;
  now?: () => number;
}

const identifier = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;
/** An instant as ISO 8601 (with an offset or Z) or as epoch milliseconds, the form notification links carry. */
const instant = z.union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,15}$/, 'epoch milliseconds')], {
  error: 'an ISO 8601 date-time with offset, or epoch milliseconds',
});
const filtersSchema = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  organization_id: z.union([z.literal(''), z.string().max(128).regex(identifier)]).optional(),
  node_type: z.union([z.literal(''), z.enum(NODE_TYPE_NAMES)]).optional(),
});

const toMs = (v: string) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v));

/**
 * Copies the chart library from node_modules into the served folder (also done by scripts/setup.d), so the
 * page never needs a CDN.
 */
export function ensureWebAssets(): void {
  const vendor = join(WEB_DIR, 'vendor');
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  mkdirSync(vendor, { recursive: true });
  for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
    if (!existsSync(join(vendor, file))) copyFileSync(join(dist, file), join(vendor, file));
  }
}

/**
 * Parses the filters. Explicit `from`/`to` are honoured to the second (milliseconds dropped: notification links
 * carry the evaluator's instants, which are 10 s steps); without them the range is the last `defaultDays` days up
 * to the current minute, so "the last 60 minutes" is the evaluator's last closed minute. Metrics that align to
 * hours or weeks say so in their SQL.
 */
export function parseFilters(query: unknown, now: number, defaultDays: number): { ok: true; filters: MetricFilters } | { ok: false; error: string } {
  const parsed = filtersSchema.safeParse(query);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') };
  const q = parsed.data;
  const to = q.to ? Math.floor(toMs(q.to) / SECOND) * SECOND : Math.floor(now / MINUTE) * MINUTE;
  const from = q.from ? Math.floor(toMs(q.from) / SECOND) * SECOND : to - defaultDays * 24 * HOUR;
  if (from >= to) return { ok: false, error: 'from must be before to' };
  if (to - from > 400 * 24 * HOUR) return { ok: false, error: 'range longer than 400 days' };
  return { ok: true, filters: { fromMs: from, toMs: to, organizationId: q.organization_id ?? '', nodeType: q.node_type ?? '', bucketMinutes: bucketMinutesFor(from, to) } };
}

export function createDashboardRouter(o: DashboardRouterOptions): Router {
  const router = express.Router();
  const now = o.now ?? Date.now;
  ensureWebAssets();

  const withFilters = (handler: (f: MetricFilters, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    const parsed = parseFilters(req.query, now(), o.defaultDays ?? 28);
    if (!parsed.ok) {
      res.status(400).json({ error: 'invalid_filters', detail: parsed.error });
      return;
    }
    try {
      await handler(parsed.filters, res);
    } catch (err) {
      o.logger.error({ err: (err as Error).message }, 'dashboard query failed');
      res.status(503).json({ error: 'clickhouse_unavailable', detail: 'the analytics store did not answer; try again' });
    }
  };
  const range = (f: MetricFilters) => ({ from: new Date(f.fromMs).toISOString(), to: new Date(f.toMs).toISOString(), organization_id: f.organizationId, node_type: f.nodeType, bucket_minutes: f.bucketMinutes });

  router.get('/api/metrics', (_req, res) => {
    res.json({ metrics: METRIC_NAMES });
  });

  router.get('/api/filters', withFilters(async (f, res) => {
    const r = await o.clickhouse.query({
      query: `SELECT DISTINCT organization_id FROM ${o.database}.action_counts_hourly WHERE hour >= {from:DateTime64(3, 'UTC')} - INTERVAL 90 DAY ORDER BY organization_id LIMIT 1000`,
      query_params: { from: new Date(f.fromMs).toISOString().replace('T', ' ').replace('Z', '') },
      format: 'JSONEachRow',
    });
    const organizations = (await r.json<{ organization_id: string }>()).map((row) => row.organization_id);
    res.json({ organizations, node_types: NODE_TYPE_NAMES.map((name) => ({ name, label: NODE_TYPES[name].label })) });
  }));

  // The four §12 tiles in one round trip (the page paints them first), with the thresholds its labels show.
  router.get('/api/overview', withFilters(async (f, res) => {
    const [adoption, volume, success, token] = await Promise.all(
      (['adoption', 'execution-volume-weekly', 'success-rate', 'token-refresh-success'] as const).map((m) => runMetric(o.clickhouse, o.database, m, f, o.thresholds)),
    );
    res.json({
      range: range(f),
      thresholds: thresholdsJson(o.thresholds),
      adoption: adoption[0],
      execution_volume_weekly: volume,
      success_rate: success[0],
      token_refresh_success: token[0],
    });
  }));

  router.get('/api/metrics/:name', async (req, res, next) => {
    const name = String(req.params.name);
    if (!isMetricName(name)) {
      res.status(404).json({ error: 'unknown_metric', detail: `known: ${METRIC_NAMES.join(', ')}` });
      return;
    }
    await withFilters(async (f, r) => {
      r.json({ range: range(f), rows: await runMetric(o.clickhouse, o.database, name, f, o.thresholds) });
    })(req, res).catch(next);
  });

  router.use(express.static(WEB_DIR, { index: 'index.html', maxAge: '5m' }));
  return router;
}
