/**
 * Web dashboard load times at 10M events in a real browser (Debian chromium via playwright-core), printed, never
 * asserted: the events are bulk-loaded into the embedded ClickHouse as bench/dashboard-queries.ts loads them (the same
 * kept folder, reused by either bench), the dashboard router serves them, and fresh pages with an empty cache open
 * the first view (the overview, its default range). Printed: first contentful paint, the time until every tile,
 * chart and table holds its numbers (`body[data-loaded=true]`), and each route the page calls, timed alone.
 *
 *   npx tsx bench/dashboard-paint.ts        # BENCH_PAINT_EVENTS=10000000, BENCH_PAGES=5
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { chromium } from 'playwright-core';
import { createDashboardRouter } from '../src/consumers/clickhouse/dashboard-api.ts';
import { METRIC_NAMES } from '../src/consumers/clickhouse/metric-queries.ts';
import { loadRateThresholds } from '../src/consumers/alerts/rate-thresholds.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { loadAverage, loadDashboardData } from './lib/dashboard-data.ts';

const TOTAL = Number(process.env.BENCH_PAINT_EVENTS ?? 10_000_000);
const PAGES = Number(process.env.BENCH_PAGES ?? 5);
const MIN = 60_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { client, db, endMs } = await loadDashboardData(TOTAL);
const app = express();
// The clock 17 minutes after the data's last whole hour, as dashboard-queries.ts: the live range ends mid-hour.
app.use(createDashboardRouter({ clickhouse: client, database: db, logger: silentLogger, now: () => endMs - 17 * MIN, thresholds: loadRateThresholds({ sloBurnRate: true }) }));
const server = await new Promise<Server>((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });

const fcp: number[] = [];
const loaded: number[] = [];
let range = '';
for (let i = 0; i <= PAGES; i++) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 300_000 });
  const all = performance.now() - t0;
  const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
  range = new URL(page.url()).searchParams.get('range') ?? '';
  await context.close();
  if (i === 0) continue; // the first load also warms the engine's caches
  fcp.push(paint);
  loaded.push(all);
}
console.log(
  `dashboard first view at ${TOTAL.toLocaleString('en-US')} events (default range ${range}, 1440 px, ${PAGES} fresh pages, load ${loadAverage()}): ` +
    `first contentful paint median ${median(fcp).toFixed(0)} ms, max ${Math.max(...fcp).toFixed(0)} ms; every tile, chart and table filled median ${median(loaded).toFixed(0)} ms, max ${Math.max(...loaded).toFixed(0)} ms`,
);

// Each route the first view calls, alone, with the page's query: median of 3, wall ms.
const routes = ['/api/filters', '/api/overview', '/api/annotations', ...METRIC_NAMES.map((m) => `/api/metrics/${m}`)];
console.log(`routes, range=${range}, median of 3 (wall ms), load ${loadAverage()}`);
for (const route of routes) {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}${route}?range=${range}`);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${route}: HTTP ${res.status}`);
    times.push(performance.now() - t0);
  }
  console.log(`  ${route.padEnd(40)} ${median(times).toFixed(0).padStart(6)}`);
}

await browser.close();
await new Promise<void>((done) => server.close(() => done()));
await client.close();
