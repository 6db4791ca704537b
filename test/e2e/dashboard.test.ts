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
import { buildEvent, type ActionEvent } from '../../src/events/index.ts';
import { AlertEngine } from '../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile } from '../../src/consumers/alerts/alert-rules.ts';
import { loadRateThresholds } from '../../src/consumers/alerts/rate-thresholds.ts';
import { buildNotification } from '../../src/consumers/alerts/alert-notification.ts';
import { slackBlocks } from '../../src/consumers/alerts/notifiers/slack-notifier.ts';
import { drive } from '../unit/alerts/engine-driver.ts';

const DB = 'ap_dash';
const HOUR = 3600_000;
const MIN = 60_000;
const DAY = 24 * HOUR;
const THRESHOLDS = loadRateThresholds({ sloBurnRate: true });

/**
 * An incident after the workload's end (so no other event shares its windows): deal updates at 3 calls a minute
 * for two hours, failing 2 in 3 from minute 30 to 70, and one unknown-outcome create every 7 minutes.
 */
function incident(start: number): ActionEvent[] {
  const out: ActionEvent[] = [];
  let n = 0;
  const base = (ts: number, node_type: 'qontak_crm_deal_update' | 'qontak_crm_deal_create') => ({ source: 'test', organization_id: 'org-incident', node_type, agent_id: 'agent-1', conversation_id: `inc-${++n}`, timestamp: ts });
  for (let m = 0; m < 120; m++) {
    const t = start + m * MIN;
    for (let k = 0; k < 3; k++) {
      out.push(buildEvent({ event: 'qontak_action_invoked', ...base(t + k * 1000, 'qontak_crm_deal_update') }));
      out.push(m >= 30 && m < 70 && k < 2
        ? buildEvent({ event: 'qontak_action_failed', ...base(t + k * 1000 + 400, 'qontak_crm_deal_update'), reason: 'crm_server_error', duration_ms: 900, trace_id: 'c'.repeat(32) })
        : buildEvent({ event: 'qontak_action_executed', ...base(t + k * 1000 + 400, 'qontak_crm_deal_update'), duration_ms: 300 }));
    }
    if (m % 7 === 0) {
      out.push(buildEvent({ event: 'qontak_action_invoked', ...base(t + 5000, 'qontak_crm_deal_create') }));
      out.push(buildEvent({ event: 'qontak_action_failed', ...base(t + 6000, 'qontak_crm_deal_create'), reason: 'crm_create_outcome_unknown', duration_ms: 10_000 }));
    }
  }
  return out;
}
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
  // Starts more than an hour after the workload's end: no rolling hour of the incident reaches back into it.
  const incidentEvents = incident(endMs + 67 * MIN);

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
    const seeded = await sink.write({ events: incidentEvents, topic: 'seed-incident', partition: 0, firstOffset: '0', lastOffset: String(incidentEvents.length - 1) }, new AbortController().signal);
    expect(seeded.status).toBe('ok');
    const app = express();
    app.use(createDashboardRouter({ clickhouse, database: DB, logger: silentLogger, now: () => endMs, thresholds: THRESHOLDS }));
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
        nodeTypes.map((r) => [
          r.node_type, int(r.invoked as number), int(r.executed as number), int(r.failed as number), int(r.unknown_outcome as number),
          int(r.blocked as number), pct(r.success_rate_pct as number), int(r.p50_ms as number), int(r.p95_ms as number),
        ]),
      );
      const reasons = (await api('/api/metrics/failure-reasons', query)).rows;
      expect(await table('table-failure-reasons')).toEqual(reasons.map((r) => [r.reason, r.class, int(r.failures as number), r.share_pct === null ? '–' : pct(r.share_pct as number)]));
      const orgs = (await api('/api/metrics/organizations', query)).rows;
      expect(await table('table-organizations')).toEqual(
        orgs.map((r) => [r.organization_id, int(r.executed as number), int(r.failed as number), int(r.blocked as number), pct(r.success_rate_pct as number), int(r.token_refresh_failed as number)]),
      );
      const rate = (await api('/api/metrics/failure-rate-1h', query)).rows;
      expect(await table('table-failure-rate-1h')).toEqual(rate.map((r) => [r.node_type, int(r.completed as number), int(r.failed as number), pct(r.failure_rate_pct as number), int(r.blocked as number)]));
      // The labels show the rules' thresholds, as the API reports them.
      expect(await page.locator('[data-testid="tile-failure-rate"] .target').innerText()).toBe(
        `alert > ${pct(100 * THRESHOLDS.failureRateAlert!)}, kill switch > ${pct(100 * THRESHOLDS.killSwitch!)} sustained`,
      );
      expect(await page.locator('[data-testid="tile-success"] .target').innerText()).toBe(`target ≥ ${pct(100 * (1 - THRESHOLDS.sloAllowedFailureRate!))}`);
      // Blocked calls are their own count, outside the success rate.
      expect(await text('tile-blocked')).toBe(int(overview.success_rate.blocked as number));
      const funnel = (await api('/api/metrics/adoption-funnel', query)).rows;
      expect(await table('table-adoption-funnel')).toEqual(
        funnel.map((r) => [r.node_type, int(r.configured_agents as number), int(r.invoked_agents as number), int(r.executed_agents as number), pct(r.invoked_pct as number), pct(r.executed_pct as number)]),
      );
      const retention = (await api('/api/metrics/agent-retention-weekly', query)).rows;
      expect(await table('table-agent-retention')).toEqual(
        retention.map((r) => [r.week_start, int(r.agents as number), int(r.previous_agents as number), int(r.retained as number), pct(r.retention_pct as number)]),
      );
      // Both charts drew (uPlot renders a canvas each).
      expect(await page.locator('.chart canvas').count()).toBe(2);
      // The time series spans the query's range with every bucket (zeros included).
      const series = (await api('/api/metrics/actions-timeseries', query)) as unknown as { range: { from: string; to: string; bucket_minutes: number }; rows: Row[] };
      const chart = page.locator('#chart-timeseries');
      expect(Number(await chart.getAttribute('data-points'))).toBe(series.rows.length);
      expect(Number(await chart.getAttribute('data-x-min'))).toBe(Date.parse(series.range.from) / 1000);
      expect(Number(await chart.getAttribute('data-x-max'))).toBe(Date.parse(series.range.to) / 1000);
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
    // An action this organization used in the range (the check needs rows to compare).
    const used = (await api('/api/metrics/node-types', new URLSearchParams({ from, to, organization_id: 'org-002' }).toString())).rows.find((r) => Number(r.executed) > 0);
    expect(used).toBeDefined();
    await check(new URLSearchParams({ from, to, organization_id: 'org-002', node_type: String(used!.node_type) }).toString(), 'dashboard-filtered.png');
  }, 120_000);

  it('follows the link of a real Slack notification to the action page: action and window preselected, failure-rate tile = the alert counts', async () => {
    const engine = new AlertEngine(loadRulesFile(), { minuteMs: MIN });
    const firing = drive(engine, incidentEvents, incidentEvents.at(-1)!.timestamp).find(
      (t) => t.rule.id === 'failure-rate-1h' && t.effects.includes('trigger') && t.next.scope.node_type === 'qontak_crm_deal_update',
    );
    expect(firing).toBeDefined();
    const notification = buildNotification(firing!, 'trigger', { dashboardBaseUrl: base });
    const actions = slackBlocks(notification).blocks.find((b) => (b as { type: string }).type === 'actions') as { elements: { url: string }[] };
    const link = actions.elements[0].url;
    // The page that explains the alert: the action's own page, with the window the rule judged.
    expect(link.startsWith(`${base}/action.html?`)).toBe(true);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    try {
      await page.goto(link);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
      const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19);
      expect(await page.locator('[data-testid="subject"]').innerText()).toBe('qontak_crm_deal_update');
      expect(await page.locator('#scope').innerText()).toBe('');
      expect((await page.locator('#as-of').getAttribute('data-from'))?.slice(0, 19)).toBe(iso(firing!.at - HOUR));
      expect((await page.locator('#as-of').getAttribute('data-to'))?.slice(0, 19)).toBe(iso(firing!.at));
      expect(await page.locator('[data-testid="tile-failure-rate"] .detail').innerText()).toBe(
        `${int(notification.numerator)} failed / ${int(notification.denominator)} completed calls`,
      );
      expect(notification.denominator).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('draws the time series over the query range with every bucket, for one hour and for ninety days', async () => {
    const to = Math.floor(endMs / DAY) * DAY;
    for (const [from, points] of [[to - HOUR, 60], [to - 90 * DAY, 90]] as const) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
      try {
        await page.goto(`${base}/?${new URLSearchParams({ from: new Date(from).toISOString(), to: String(to) })}`);
        await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
        const chart = page.locator('#chart-timeseries');
        expect(Number(await chart.getAttribute('data-points'))).toBe(points);
        expect([Number(await chart.getAttribute('data-x-min')), Number(await chart.getAttribute('data-x-max'))]).toEqual([from / 1000, to / 1000]);
        expect(await chart.locator('canvas').count()).toBe(1);
      } finally {
        await page.close();
      }
    }
  }, 120_000);

  it('a click on a week of the retention table opens that ISO week as a custom range', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    try {
      await page.goto(`${base}/?${new URLSearchParams({ from: new Date(endMs - 14 * DAY).toISOString(), to: new Date(endMs).toISOString() })}`);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
      const week = page.locator('[data-testid="table-agent-retention"] a[data-drill]').first();
      const monday = await week.innerText();
      await week.click();
      await page.waitForURL((u) => u.searchParams.get('from') === `${monday}T00:00:00.000Z`, { timeout: 60_000 });
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
      expect(new URL(page.url()).searchParams.get('to')).toBe(new Date(Date.parse(`${monday}T00:00:00Z`) + 7 * DAY).toISOString());
      const retention = (await api('/api/metrics/agent-retention-weekly', new URL(page.url()).searchParams.toString())).rows;
      expect(retention.map((r) => r.week_start)).toEqual([monday]);
      expect(await page.locator('[data-testid="table-agent-retention"] tbody td').first().innerText()).toBe(monday);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('answers bad filters with 400 and the problem', async () => {
    const res = await fetch(`${base}/api/metrics/success-rate?node_type=qontak_fax_send`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain('node_type');
    expect((await fetch(`${base}/api/metrics/nope`)).status).toBe(404);
  });
});
