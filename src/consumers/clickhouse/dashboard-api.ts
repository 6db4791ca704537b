import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import type { ClickHouseClient } from '@clickhouse/client';
import { NODE_TYPE_NAMES, NODE_TYPES } from '../../events/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { SqlDb } from '../../platform/registry-db.ts';
import { ANNOTATION_COLUMNS, readAnnotations } from '../alerts/annotations.ts';
import { thresholdsJson, type RateThresholds } from '../alerts/rate-thresholds.ts';
import { dataSpan } from './default-range.ts';
import { namesRange, parseFilters, previousPeriod, QUICK_RANGE_NAMES, type DashboardFilters } from './dashboard-filters.ts';
import { toCsv } from './metric-csv.ts';
import { isMetricName, METRIC_NAMES, runMetric, runMetricTable, takesReason } from './metric-queries.ts';

export const WEB_DIR = resolve(join(dirname(fileURLToPath(import.meta.url)), '../../../dashboards/web'));

export interface DashboardRouterOptions {
  clickhouse: ClickHouseClient;
  database: string;
  logger: Logger;
  /**
   * The alert rules' thresholds (`loadRateThresholds` with the alerts settings), sent to the SQL as parameters and
   * to the page, so the dashboard flags a rate where the alerts would.
   */
  thresholds: RateThresholds;
  /** The registry database (alert episodes, audit trail) for the annotations; without it there are none to show. */
  db?: SqlDb;
  now?: () => number;
}

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

export function createDashboardRouter(o: DashboardRouterOptions): Router {
  const router = express.Router();
  const now = o.now ?? Date.now;
  ensureWebAssets();

  const withFilters = (handler: (f: DashboardFilters, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    const at = now();
    try {
      // The page always names its range; only a bare API call pays for the look-up of the default.
      const defaultRange = namesRange(req.query) ? '28d' : (await dataSpan(o.clickhouse, o.database, at)).defaultRange;
      const parsed = parseFilters(req.query, at, defaultRange);
      if (!parsed.ok) {
        res.status(400).json({ error: 'invalid_filters', detail: parsed.error });
        return;
      }
      await handler(parsed.filters, res);
    } catch (err) {
      o.logger.error({ err: (err as Error).message }, 'dashboard query failed');
      res.status(503).json({ error: 'clickhouse_unavailable', detail: 'the analytics store did not answer; try again' });
    }
  };
  // `reason`: the failure reason the answer is narrowed to; '' when its metric counts every call (no reason filter).
  const range = (f: DashboardFilters, byReason = false) => ({
    name: f.rangeName,
    compare: f.compare ? 'previous' : null,
    from: new Date(f.fromMs).toISOString(),
    to: new Date(f.toMs).toISOString(),
    live: f.live,
    organization_id: f.organizationId,
    node_type: f.nodeType,
    reason: byReason ? (f.reason ?? '') : '',
    bucket_minutes: f.bucketMinutes,
  });

  router.get('/api/metrics', (_req, res) => {
    res.json({ metrics: METRIC_NAMES });
  });

  router.get('/api/filters', withFilters(async (f, res) => {
    // Both before the page can ask for anything else: one round trip's wait, not two.
    const [r, span] = await Promise.all([
      o.clickhouse.query({
        query: `SELECT DISTINCT organization_id FROM ${o.database}.action_counts_hourly WHERE hour >= {from:DateTime64(3, 'UTC')} - INTERVAL 90 DAY ORDER BY organization_id LIMIT 1000`,
        query_params: { from: new Date(f.fromMs).toISOString().replace('T', ' ').replace('Z', '') },
        format: 'JSONEachRow',
      }),
      dataSpan(o.clickhouse, o.database, now()),
    ]);
    const organizations = (await r.json<{ organization_id: string }>()).map((row) => row.organization_id);
    res.json({
      organizations,
      node_types: NODE_TYPE_NAMES.map((name) => ({ name, label: NODE_TYPES[name].label })),
      quick_ranges: QUICK_RANGE_NAMES,
      default_range: span.defaultRange,
      thresholds: thresholdsJson(o.thresholds),
      first_event_at: span.firstEventMs === null ? null : new Date(span.firstEventMs).toISOString(),
    });
  }));

  // The four §12 tiles in one round trip (the page paints them first), with the thresholds its labels show.
  router.get('/api/overview', withFilters(async (f, res) => {
    if (f.format === 'csv') {
      res.status(400).json({ error: 'invalid_filters', detail: 'format: the overview is JSON; each of its tiles is a metric route with format=csv' });
      return;
    }
    const tiles = async (g: DashboardFilters) => {
      const [adoption, volume, success, token] = await Promise.all(
        (['adoption', 'execution-volume-weekly', 'success-rate', 'token-refresh-success'] as const).map((m) => runMetric(o.clickhouse, o.database, m, g, o.thresholds)),
      );
      return { range: range(g), adoption: adoption[0], execution_volume_weekly: volume, success_rate: success[0], token_refresh_success: token[0] };
    };
    const [current, previous] = await Promise.all([tiles(f), f.compare ? tiles(previousPeriod(f)) : undefined]);
    res.json({ ...current, thresholds: thresholdsJson(o.thresholds), ...(previous ? { previous } : {}) });
  }));

  router.get('/api/metrics/:name', async (req, res, next) => {
    const name = String(req.params.name);
    if (!isMetricName(name)) {
      res.status(404).json({ error: 'unknown_metric', detail: `known: ${METRIC_NAMES.join(', ')}` });
      return;
    }
    await withFilters(async (f, r) => {
      // A CSV file holds one period: the comparison is a second download with the shifted from/to.
      const previous = f.compare && f.format === 'json' ? previousPeriod(f) : undefined;
      const [{ columns, rows }, before] = await Promise.all([
        runMetricTable(o.clickhouse, o.database, name, f, o.thresholds),
        previous ? runMetric(o.clickhouse, o.database, name, previous, o.thresholds) : undefined,
      ]);
      if (f.format === 'json') {
        const byReason = takesReason(name);
        r.json({ range: range(f, byReason), rows, ...(previous && before ? { previous: { range: range(previous, byReason), rows: before } } : {}) });
        return;
      }
      const stamp = (ms: number) => new Date(ms).toISOString().replace(/[:.]/g, '-');
      r.type('text/csv; charset=utf-8; header=present');
      r.attachment(`actionpulse_${name}_${stamp(f.fromMs)}_${stamp(f.toMs)}.csv`);
      r.send(toCsv(columns, rows));
    })(req, res).catch(next);
  });

  // What happened in the range: alert episodes and registry changes, drawn on every time series of the pages.
  router.get('/api/annotations', withFilters(async (f, res) => {
    const annotations = o.db ? await readAnnotations(o.db, f, now()) : [];
    if (f.format === 'json') {
      res.json({ range: range(f), annotations });
      return;
    }
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const rows = annotations.map((a) => ({ ...a, start: iso(a.start_ms), end: iso(a.end_ms) }));
    res.type('text/csv; charset=utf-8; header=present');
    res.attachment(`actionpulse_annotations_${new Date(f.fromMs).toISOString().replace(/[:.]/g, '-')}_${new Date(f.toMs).toISOString().replace(/[:.]/g, '-')}.csv`);
    res.send(toCsv(ANNOTATION_COLUMNS, rows));
  }));

  router.use(express.static(WEB_DIR, { index: 'index.html', maxAge: '5m' }));
  return router;
}
