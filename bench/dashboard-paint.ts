/**
 * Web dashboard load times in a real browser (Debian chromium via playwright-core), printed, never asserted:
 * first contentful paint, and the time until every tile, chart and table holds its numbers
 * (`body[data-loaded=true]`), over fresh pages with an empty cache, for a demo-sized data set and a bigger one.
 *
 *   npx tsx bench/dashboard-paint.ts        # BENCH_PAGES=7
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium } from 'playwright-core';
import { ClickhouseSink } from '../src/consumers/clickhouse/clickhouse-sink.ts';
import { createDashboardRouter } from '../src/consumers/clickhouse/dashboard-api.ts';
import { loadRateThresholds } from '../src/consumers/alerts/rate-thresholds.ts';
import { runMigrations } from '../src/consumers/clickhouse/migrations.ts';
import { createClickhouse } from '../src/platform/clickhouse-client.ts';
import { silentLogger } from '../src/platform/logger.ts';
import { generateWorkload } from '../src/workload/workload-generator.ts';

const PAGES = Number(process.env.BENCH_PAGES ?? 7);
const HOUR = 3600_000;
const endMs = Math.floor(Date.now() / HOUR) * HOUR;
const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-bench-paint-'));
const clickhouse = createClickhouse({ dataDir });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });

const sets = [
  // About what `npm start` produces in its first minutes; then a month of a busier tenant base.
  { name: 'demo-sized', db: 'paint_demo', organizations: 6, agentsPerOrg: 5, invocations: 20_000, hours: 24 * 7 },
  { name: 'larger', db: 'paint_large', organizations: 50, agentsPerOrg: 20, invocations: 400_000, hours: 24 * 28 },
];

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

for (const set of sets) {
  await runMigrations(clickhouse, { database: set.db, ttlDays: 400 });
  const workload = generateWorkload({ seed: 7, endMs, hours: set.hours, organizations: set.organizations, agentsPerOrg: set.agentsPerOrg, invocations: set.invocations });
  const sink = new ClickhouseSink({ client: clickhouse, database: set.db, logger: silentLogger });
  for (let i = 0; i < workload.deliveries.length; i += 20_000) {
    const events = workload.deliveries.slice(i, i + 20_000);
    const r = await sink.write({ events, topic: set.db, partition: 0, firstOffset: String(i), lastOffset: String(i + events.length - 1) }, new AbortController().signal);
    if (r.status !== 'ok') throw new Error(`seeding ${set.name}: ${r.status}`);
  }
  const app = express();
  app.use(createDashboardRouter({ clickhouse, database: set.db, logger: silentLogger, now: () => endMs, thresholds: loadRateThresholds({ sloBurnRate: true }) }));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const fcp: number[] = [];
  const loaded: number[] = [];
  for (let i = 0; i <= PAGES; i++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
    const allLoaded = Date.now() - t0;
    const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
    await context.close();
    if (i === 0) continue; // the first load also warms the engine's caches for these tables
    fcp.push(paint);
    loaded.push(allLoaded);
  }
  await new Promise<void>((done) => server.close(() => done()));
  console.log(
    `dashboard ${set.name} (${workload.deliveries.length.toLocaleString()} events, ${set.organizations} orgs, ${set.hours / 24} days), ${PAGES} fresh pages: ` +
      `first contentful paint p50 ${q(fcp, 0.5).toFixed(0)} ms, max ${Math.max(...fcp).toFixed(0)} ms; every tile, chart and table filled p50 ${q(loaded, 0.5)} ms, max ${Math.max(...loaded)} ms`,
  );
}

await browser.close();
await clickhouse.close();
rmSync(dataDir, { recursive: true, force: true });
