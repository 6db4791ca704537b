import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickhouse } from '../../src/platform/clickhouse-client.ts';
import { silentLogger } from '../../src/platform/logger.ts';
import { ClickhouseSink } from '../../src/consumers/clickhouse/clickhouse-sink.ts';
import { createDashboardRouter } from '../../src/consumers/clickhouse/dashboard-api.ts';
import { runMigrations } from '../../src/consumers/clickhouse/migrations.ts';
import { generateWorkload } from '../../src/workload/workload-generator.ts';

const DB = 'ap_dash';
const HOUR = 3600_000;
const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)}%`);
const int = (v: number | null) => (v === null ? 'n/a' : v.toLocaleString('en-US'));
type Row = Record<string, number | string | null>;

describe('web dashboard in a real browser (Debian chromium via playwright-core)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-dash-'));
  let clickhouse: ClickHouseClient;
  let server: Server;
  let base = '';
  let browser: Browser;
  const endMs = Math.floor(Date.now() / HOUR) * HOUR;

  beforeAll(async () => {
    clickhouse = createClickhouse({ dataDir });
    await runMigrations(clickhouse, { database: DB, ttlDays: 400 });
    const workload = generateWorkload({ seed: 99, endMs, hours: 24 * 21, organizations: 5, agentsPerOrg: 10, invocations: 8000 });
    // Seed through the real sink, duplicates included, in Kafka-sized batches.
    const sink = new ClickhouseSink({ client: clickhouse, database: DB, logger: silentLogger });
    for (let i = 0; i < workload.deliveries.length; i += 5000) {
      const events = workload.deliveries.slice(i, i + 5000);
      const result = await sink.write({ events, topic: 'seed', partition: 0, firstOffset: String(i), lastOffset: String(i + events.length - 1) }, new AbortController().signal);
      expect(result.status).toBe('ok');
    }
    const app = express();
    app.use(createDashboardRouter({ clickhouse, database: DB, logger: silentLogger, now: () => endMs }));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function api(path: string, query: string): Promise<Row & { rows: Row[] }> {
    const res = await fetch(`${base}${path}?${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as Row & { rows: Row[] };
  }

  async function check(query: string, screenshot: string): Promise<void> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    try {
      await page.goto(`${base}/?${query}`);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
      const overview = (await api('/api/overview', query)) as unknown as { adoption: Row; success_rate: Row; token_refresh_success: Row; execution_volume_weekly: Row[] };
      const text = (id: string) => page.locator(`[data-testid="${id}"] .value`).innerText();
      expect(await text('tile-adoption')).toBe(pct(overview.adoption.adoption_pct as number));
      expect(await text('tile-success')).toBe(pct(overview.success_rate.success_rate_pct as number));
      expect(await text('tile-token')).toBe(pct(overview.token_refresh_success.success_pct as number));
      const lastWeek = overview.execution_volume_weekly.at(-1)!;
      expect(await text('tile-volume')).toBe(int(lastWeek.executed as number));
      expect(Number(overview.adoption.active_agents)).toBeGreaterThan(0);

      const table = async (id: string) => page.locator(`[data-testid="${id}"] tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      const nodeTypes = (await api('/api/metrics/node-types', query)).rows;
      expect(nodeTypes.length).toBeGreaterThan(0);
      expect(await table('table-node-types')).toEqual(
        nodeTypes.map((r) => [r.node_type, int(r.invoked as number), int(r.executed as number), int(r.failed as number), pct(r.success_rate_pct as number), int(r.p50_ms as number), int(r.p95_ms as number)]),
      );
      const reasons = (await api('/api/metrics/failure-reasons', query)).rows;
      expect(await table('table-failure-reasons')).toEqual(reasons.map((r) => [r.reason, int(r.failures as number), pct(r.share_pct as number)]));
      const orgs = (await api('/api/metrics/organizations', query)).rows;
      expect(await table('table-organizations')).toEqual(
        orgs.map((r) => [r.organization_id, int(r.executed as number), int(r.failed as number), pct(r.success_rate_pct as number), int(r.token_refresh_failed as number)]),
      );
      const rate = (await api('/api/metrics/failure-rate-1h', query)).rows;
      expect(await table('table-failure-rate-1h')).toEqual(rate.map((r) => [r.node_type, int(r.invoked as number), int(r.failed as number), pct(r.failure_rate_pct as number)]));
      // Both charts drew (uPlot renders a canvas each).
      expect(await page.locator('.chart canvas').count()).toBe(2);
      // Nothing was fetched from anywhere but the dashboard itself (no CDN).
      expect(requests.filter((u) => !u.startsWith(base))).toEqual([]);
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: join('test-results', screenshot), fullPage: true });
      expect(statSync(join('test-results', screenshot)).size).toBeGreaterThan(10_000);
    } finally {
      await page.close();
    }
  }

  it('shows the same numbers as the API for the default range', async () => {
    await check('', 'dashboard.png');
  }, 120_000);

  it('applies organization and node_type filters from the URL', async () => {
    const from = new Date(endMs - 7 * 24 * HOUR).toISOString();
    const to = new Date(endMs).toISOString();
    await check(new URLSearchParams({ from, to, organization_id: 'org-002', node_type: 'qontak_chat_room_tag' }).toString(), 'dashboard-filtered.png');
  }, 120_000);

  it('answers bad filters with 400 and the problem', async () => {
    const res = await fetch(`${base}/api/metrics/success-rate?node_type=qontak_fax_send`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain('node_type');
    expect((await fetch(`${base}/api/metrics/nope`)).status).toBe(404);
  });
});
