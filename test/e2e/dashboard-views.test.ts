import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickhouse } from '../../src/platform/clickhouse-client.ts';
import { silentLogger } from '../../src/platform/logger.ts';
import { ClickhouseSink } from '../../src/consumers/clickhouse/clickhouse-sink.ts';
import { createDashboardRouter } from '../../src/consumers/clickhouse/dashboard-api.ts';
import { METRIC_NAMES } from '../../src/consumers/clickhouse/metric-queries.ts';
import { runMigrations } from '../../src/consumers/clickhouse/migrations.ts';
import { loadRateThresholds } from '../../src/consumers/alerts/rate-thresholds.ts';
import { buildEvent, type ActionEvent } from '../../src/events/index.ts';
import { parseCsv } from '../helpers/csv.ts';
import { overflowingElements, unreachableColumns } from '../helpers/page-layout.ts';

/**
 * The page around the numbers: quick ranges and the URL, widths from a phone to a desktop, CSV export, empty and
 * loading states, the live refresh. Every number is checked against counts of the events this file inserts, and
 * nothing waits on speed: slow queries are made slow by holding their request, refreshes are driven by the page's
 * fake clock.
 */
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// Mid-minute and to the millisecond: the current partial minute is 20.5 s old.
const NOW = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR + 30 * MIN + 20_500;
const THRESHOLDS = loadRateThresholds({ sloBurnRate: true });

interface Block { age: number; org: string; node: 'qontak_crm_deal_create' | 'qontak_crm_deal_update' | 'qontak_chat_room_tag'; executed: number; failed: number; reason?: 'crm_timeout' }
const BLOCKS: Block[] = [
  { age: 10 * DAY, org: 'org-a', node: 'qontak_crm_deal_create', executed: 5, failed: 0 },
  { age: 3 * DAY, org: 'org-b', node: 'qontak_crm_deal_update', executed: 7, failed: 2 },
  { age: 5 * HOUR, org: 'org-a', node: 'qontak_crm_deal_update', executed: 11, failed: 3, reason: 'crm_timeout' },
  { age: 30 * MIN, org: 'org-c', node: 'qontak_chat_room_tag', executed: 13, failed: 4 },
  // In the minute that holds NOW: read 0 until the minute closed, before ranges ended at the request's instant.
  { age: 15 * SEC, org: 'org-c', node: 'qontak_chat_room_tag', executed: 6, failed: 1 },
  // After NOW: in no range.
  { age: -2 * SEC, org: 'org-c', node: 'qontak_chat_room_tag', executed: 2, failed: 0 },
];

function events(blocks: Block[], now: number): ActionEvent[] {
  const out: ActionEvent[] = [];
  let n = 0;
  for (const b of blocks) {
    for (let i = 0; i < b.executed + b.failed; i++) {
      const base = { source: 'test', organization_id: b.org, node_type: b.node, agent_id: 'agent-1', conversation_id: `c-${++n}`, timestamp: now - b.age + i * 50, duration_ms: 200 };
      out.push(i < b.executed ? buildEvent({ event: 'qontak_action_executed', ...base }) : buildEvent({ event: 'qontak_action_failed', ...base, reason: b.reason ?? 'crm_server_error' }));
    }
  }
  return out;
}

/** Completed calls of the inserted events in [from, to), as the success tile words them. */
function successDetail(all: ActionEvent[], from: number, to: number, org = ''): string {
  const inRange = all.filter((e) => e.timestamp >= from && e.timestamp < to && (!org || e.organization_id === org));
  const executed = inRange.filter((e) => e.event === 'qontak_action_executed').length;
  const failed = inRange.filter((e) => e.event === 'qontak_action_failed').length;
  return `${executed} executed of ${executed + failed} completed calls, ${failed} failed (0 with unknown outcome)`;
}

function failureRateDetail(all: ActionEvent[], to: number): string {
  const inRange = all.filter((e) => e.timestamp >= to - HOUR && e.timestamp < to);
  const failed = inRange.filter((e) => e.event === 'qontak_action_failed').length;
  return `${failed} failed / ${inRange.length} completed calls`;
}

/** The failed calls with `reason` in [from, to), counted by `key` (node_type or organization_id), sorted by key. */
function failuresBy(all: ActionEvent[], from: number, to: number, reason: string, key: 'node_type' | 'organization_id'): [string, number][] {
  const counts = new Map<string, number>();
  for (const e of all) {
    if (e.event !== 'qontak_action_failed' || e.reason !== reason || e.timestamp < from || e.timestamp >= to) continue;
    counts.set(e[key], (counts.get(e[key]) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b));
}

describe('dashboard views in Chromium: ranges, widths, export, states, live', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-views-'));
  const servers: Server[] = [];
  let clickhouse: ClickHouseClient;
  let browser: Browser;
  let nowMs = NOW;
  const main = events(BLOCKS, NOW);
  const fresh = events([{ age: 2 * HOUR, org: 'org-f', node: 'qontak_crm_deal_update', executed: 4, failed: 0 }], NOW);
  const bases = { main: '', fresh: '', empty: '' };

  async function seed(db: string, list: ActionEvent[]): Promise<void> {
    await runMigrations(clickhouse, { database: db, ttlDays: 400 });
    const sink = new ClickhouseSink({ client: clickhouse, database: db, logger: silentLogger });
    // Twice, as Kafka redelivers after a crash: every count must still hold each event once.
    for (const [i, topic] of ['seed', 'seed-again'].entries()) {
      if (list.length === 0) break;
      const r = await sink.write({ events: list, topic, partition: 0, firstOffset: String(i), lastOffset: String(i + list.length - 1) }, new AbortController().signal);
      expect(r.status).toBe('ok');
    }
  }

  async function serve(db: string, now: () => number): Promise<string> {
    const app = express();
    app.use(createDashboardRouter({ clickhouse, database: db, logger: silentLogger, thresholds: THRESHOLDS, now }));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    clickhouse = createClickhouse({ dataDir });
    await seed('views_main', main);
    await seed('views_fresh', fresh);
    await seed('views_empty', []);
    bases.main = await serve('views_main', () => nowMs);
    bases.fresh = await serve('views_fresh', () => NOW);
    bases.empty = await serve('views_empty', () => NOW);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function open(url: string, width = 1440, setup?: (page: Page) => Promise<unknown>): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    // Generous: the machine may be busy; no assertion depends on how long anything takes.
    page.setDefaultTimeout(90_000);
    await setup?.(page);
    await page.goto(url);
    await page.waitForSelector('body[data-loaded="true"]');
    return page;
  }
  const detail = (page: Page, tile: string) => page.locator(`[data-testid="${tile}"] .detail`).innerText();
  const query = (page: Page) => new URL(page.url()).searchParams;

  it('opens on the range the data calls for and writes it into the URL: 28 d for ten days of data, 24 h for a run two hours old', async () => {
    const page = await open(`${bases.main}/`);
    try {
      expect(query(page).get('range')).toBe('28d');
      expect(await page.locator('[data-range="28d"]').getAttribute('aria-pressed')).toBe('true');
      expect(await detail(page, 'tile-success')).toBe(successDetail(main, NOW - 28 * DAY, NOW));
    } finally {
      await page.close();
    }
    const young = await open(`${bases.fresh}/`);
    try {
      expect(query(young).get('range')).toBe('24h');
      expect(await detail(young, 'tile-success')).toBe(successDetail(fresh, NOW - DAY, NOW));
    } finally {
      await young.close();
    }
  }, 240_000);

  it('quick ranges change the URL and the numbers, exactly, the current partial minute included; the URL reproduces the view', async () => {
    const page = await open(`${bases.main}/?range=28d`);
    try {
      for (const [range, span] of [['1h', HOUR], ['24h', DAY], ['7d', 7 * DAY], ['28d', 28 * DAY]] as const) {
        if (query(page).get('range') !== range) {
          await page.click(`[data-range="${range}"]`);
          await page.waitForURL((u) => u.searchParams.get('range') === range);
          await page.waitForSelector('body[data-loaded="true"]');
        }
        expect(await detail(page, 'tile-success')).toBe(successDetail(main, NOW - span, NOW));
        // The rolling hour ends at the request's instant: the 7 calls of the current minute are in it, the 2 after NOW are not.
        expect(await detail(page, 'tile-failure-rate')).toBe(failureRateDetail(main, NOW));
        expect(await page.getByTestId('as-of').getAttribute('data-to')).toBe(new Date(NOW).toISOString());
        expect(await page.getByTestId('as-of').innerText()).toContain(`as of ${new Date(NOW).toISOString().slice(0, 19).replace('T', ' ')} UTC`);
      }
      // A filter goes into the URL too, and a link with it opens the same view.
      await page.selectOption('select[name="organization_id"]', 'org-b');
      await page.waitForURL((u) => u.searchParams.get('organization_id') === 'org-b');
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await detail(page, 'tile-success')).toBe(successDetail(main, NOW - 28 * DAY, NOW, 'org-b'));
      const link = page.url();
      const again = await open(link);
      try {
        expect(await again.locator('select[name="organization_id"]').inputValue()).toBe('org-b');
        expect(await again.locator('[data-range="28d"]').getAttribute('aria-pressed')).toBe('true');
        expect(await detail(again, 'tile-success')).toBe(successDetail(main, NOW - 28 * DAY, NOW, 'org-b'));
      } finally {
        await again.close();
      }
      // Custom: from/to in the URL, to the second.
      await page.click('[data-range="custom"]');
      await page.fill('input[name="from"]', new Date(NOW - 4 * DAY).toISOString().slice(0, 19));
      await page.fill('input[name="to"]', new Date(NOW - HOUR).toISOString().slice(0, 19));
      await page.click('#custom-range button[type="submit"]');
      await page.waitForURL((u) => u.searchParams.has('from'));
      await page.waitForSelector('body[data-loaded="true"]');
      const [from, to] = [Math.floor((NOW - 4 * DAY) / SEC) * SEC, Math.floor((NOW - HOUR) / SEC) * SEC];
      expect(Date.parse(query(page).get('from')!)).toBe(from);
      expect(Date.parse(query(page).get('to')!)).toBe(to);
      expect(query(page).get('range')).toBeNull();
      expect(await detail(page, 'tile-success')).toBe(successDetail(main, from, to, 'org-b'));
      // Back returns to the previous view.
      await page.goBack();
      await page.waitForURL((u) => u.searchParams.get('range') === '28d');
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await detail(page, 'tile-success')).toBe(successDetail(main, NOW - 28 * DAY, NOW, 'org-b'));
    } finally {
      await page.close();
    }
  }, 240_000);

  it('compares with the previous period: same SQL over the shifted range, value, change and an arrow coloured by better/worse', async () => {
    const api = (await (await fetch(`${bases.main}/api/metrics/organizations?range=7d&compare=previous`)).json()) as { range: { from: string }; previous: { range: { from: string; to: string }; rows: Record<string, unknown>[] } };
    expect(api.previous.range).toMatchObject({ from: new Date(NOW - 14 * DAY).toISOString(), to: new Date(NOW - 7 * DAY).toISOString() });
    expect(api.previous.rows).toMatchObject([{ organization_id: 'org-a', executed: 5, failed: 0 }]);

    const page = await open(`${bases.main}/?range=7d`);
    try {
      await page.check('input[name="compare"]');
      await page.waitForURL((u) => u.searchParams.get('compare') === 'previous' && u.searchParams.get('range') === '7d');
      await page.waitForSelector('body[data-loaded="true"]');
      const rate = (from: number, to: number) => {
        const inRange = main.filter((e) => e.timestamp >= from && e.timestamp < to);
        return (100 * inRange.filter((e) => e.event === 'qontak_action_executed').length) / inRange.length;
      };
      const drop = rate(NOW - 14 * DAY, NOW - 7 * DAY) - rate(NOW - 7 * DAY, NOW);
      const success = page.locator('[data-testid="tile-success"] .compare');
      expect(await success.innerText()).toBe(`vs 100.0% in the previous period ▼ −${drop.toFixed(1)} pts`);
      expect(await success.getAttribute('class')).toBe('compare worse');
      // Nothing in the hour before the previous period's end: no rate to compare with.
      expect(await page.locator('[data-testid="tile-failure-rate"] .compare').innerText()).toBe('no value to compare in the previous period');
      expect(await page.locator('[data-testid="tile-blocked"] .compare').innerText()).toBe('vs 0 in the previous period = ±0');
      const orgs = await page.locator('[data-testid="table-organizations"] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.querySelector('.delta')?.className + ' ' + td.querySelector('.delta')?.textContent)));
      // org-c first (busiest): no row in the previous period.
      expect(orgs[0].slice(1, 3)).toEqual(['delta none new', 'delta none new']);
      expect(orgs[1].slice(1, 3)).toEqual(['delta better ▲ +6', 'delta worse ▲ +3']);
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: join('test-results', 'dashboard-compare.png'), fullPage: true });

      // A link with compare opens the same view; unchecking takes it out of the URL and the page.
      const again = await open(page.url());
      try {
        expect(await again.locator('input[name="compare"]').isChecked()).toBe(true);
        expect(await again.locator('[data-testid="tile-success"] .compare').innerText()).toBe(await success.innerText());
      } finally {
        await again.close();
      }
      await page.uncheck('input[name="compare"]');
      await page.waitForURL((u) => !u.searchParams.has('compare'));
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await success.innerText()).toBe('');
      expect(await page.locator('.delta').count()).toBe(0);
    } finally {
      await page.close();
    }
  }, 240_000);

  it('a click on an organization, then on an action, filters the page to it (URL and exact numbers); Back undoes it', async () => {
    const page = await open(`${bases.main}/?range=28d`);
    try {
      await page.locator('[data-testid="table-organizations"] a[data-drill]', { hasText: 'org-a' }).click();
      await page.waitForURL((u) => u.searchParams.get('organization_id') === 'org-a');
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.locator('select[name="organization_id"]').inputValue()).toBe('org-a');
      expect(await detail(page, 'tile-success')).toBe(successDetail(main, NOW - 28 * DAY, NOW, 'org-a'));
      await page.locator('[data-testid="table-node-types"] a[data-drill]', { hasText: 'qontak_crm_deal_update' }).click();
      await page.waitForURL((u) => u.searchParams.get('node_type') === 'qontak_crm_deal_update');
      await page.waitForSelector('body[data-loaded="true"]');
      expect(query(page).get('organization_id')).toBe('org-a');
      const only = main.filter((e) => 'node_type' in e && e.node_type === 'qontak_crm_deal_update');
      expect(await detail(page, 'tile-success')).toBe(successDetail(only, NOW - 28 * DAY, NOW, 'org-a'));
      await page.goBack();
      await page.waitForURL((u) => !u.searchParams.has('node_type'));
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await detail(page, 'tile-success')).toBe(successDetail(main, NOW - 28 * DAY, NOW, 'org-a'));
    } finally {
      await page.close();
    }
  }, 240_000);

  it('a click on a failure reason narrows the page to the calls that failed with it (URL, chip, exact rows, CSV = JSON), the chip drops it; nothing overflows at 390 px', async () => {
    const [from, to] = [NOW - 28 * DAY, NOW];
    const page = await open(`${bases.main}/?range=28d`, 390);
    const rowsOf = (testid: string) => page.locator(`[data-testid="${testid}"] tbody tr`).evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => (td as { textContent: string | null }).textContent)));
    try {
      expect(await page.getByTestId('filter-chips').isHidden()).toBe(true);
      await page.locator('[data-testid="table-failure-reasons"] a[data-drill]', { hasText: 'crm_timeout' }).click();
      await page.waitForURL((u) => u.searchParams.get('reason') === 'crm_timeout');
      await page.waitForSelector('body[data-loaded="true"]');
      expect(query(page).get('range')).toBe('28d');
      expect(await page.locator('[data-testid="filter-chips"] .chip').evaluateAll((els) => els.map((el) => [el.getAttribute('data-filter'), el.querySelector('b')?.textContent]))).toEqual([['reason', 'crm_timeout']]);

      // Ground truth: the inserted failed calls with that reason, by action and by organization.
      const byNode = failuresBy(main, from, to, 'crm_timeout', 'node_type');
      const byOrg = failuresBy(main, from, to, 'crm_timeout', 'organization_id').sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
      const total = byNode.reduce((n, [, c]) => n + c, 0);
      const failedAll = main.filter((e) => e.event === 'qontak_action_failed' && e.timestamp >= from && e.timestamp < to).length;
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThan(failedAll);
      expect(await rowsOf('table-failure-reasons')).toEqual([['crm_timeout', 'failure', String(total), `${((100 * total) / failedAll).toFixed(1)}%`]]);
      expect(await rowsOf('table-node-types')).toEqual(byNode.map(([node, n]) => [node, 'n/a', 'n/a', String(n), '0', '0', 'n/a', 'n/a', 'n/a']));
      expect(await rowsOf('table-organizations')).toEqual(byOrg.map(([org, n]) => [org, 'n/a', String(n), '0', 'n/a', 'n/a']));
      const series = (await (await fetch(`${bases.main}/api/metrics/actions-timeseries?${query(page)}`)).json()) as { range: { reason: string }; rows: { executed: number | null; failed: number; blocked: number }[] };
      expect(series.range.reason).toBe('crm_timeout');
      expect(series.rows.reduce((n, r) => n + r.failed, 0)).toBe(total);
      expect(series.rows.filter((r) => r.executed !== null || r.blocked !== 0)).toEqual([]);
      // The tiles count every call, and say so.
      expect(await detail(page, 'tile-success')).toBe(successDetail(main, from, to));
      expect(await page.locator('[data-testid="tile-success"] .scope-note').innerText()).toBe('(every reason)');
      expect(await page.locator('[data-panel="node-types"] .scope-note').count()).toBe(0);
      for (const name of ['failure-reasons', 'node-types', 'organizations', 'actions-timeseries']) {
        const q = `${query(page)}`;
        const json = (await (await fetch(`${bases.main}/api/metrics/${name}?${q}`)).json()) as { rows: Record<string, string | number | null>[] };
        const [header, ...rows] = parseCsv(await (await fetch(`${bases.main}/api/metrics/${name}?${q}&format=csv`)).text()) as [string[], ...(string | null)[][]];
        expect(json.rows.length).toBeGreaterThan(0);
        expect(header).toEqual(Object.keys(json.rows[0]));
        expect(rows).toEqual(json.rows.map((r) => header.map((k) => (r[k] === null ? null : String(r[k])))));
      }
      const overflow = await overflowingElements(page);
      expect(overflow.out).toEqual([]);
      expect(overflow.scrollWidth).toBe(overflow.vw);
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: join('test-results', 'dashboard-reason-390.png'), fullPage: true });

      await page.locator('[data-filter="reason"] a').click();
      await page.waitForURL((u) => !u.searchParams.has('reason'));
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.getByTestId('filter-chips').isHidden()).toBe(true);
      expect((await rowsOf('table-failure-reasons')).map((r) => r[0])).toEqual(['crm_server_error', 'crm_timeout']);
      expect(await page.locator('.scope-note').count()).toBe(0);
    } finally {
      await page.close();
    }
  }, 240_000);

  it('a click on a week (the volume tile, a bar of the weekly chart) opens that ISO week as a custom range, with its exact numbers', async () => {
    const page = await open(`${bases.main}/?range=28d`);
    const expectWeek = async (monday: string) => {
      const start = Date.parse(`${monday}T00:00:00Z`);
      await page.waitForURL((u) => u.searchParams.get('from') === new Date(start).toISOString());
      await page.waitForSelector('body[data-loaded="true"]');
      expect(query(page).get('to')).toBe(new Date(start + 7 * DAY).toISOString());
      expect(query(page).get('range')).toBeNull();
      const executed = main.filter((e) => e.event === 'qontak_action_executed' && e.timestamp >= start && e.timestamp < start + 7 * DAY).length;
      expect(await page.locator('[data-testid="tile-volume"] .value').innerText()).toBe(executed.toLocaleString('en-US'));
      expect(await detail(page, 'tile-success')).toBe(successDetail(main, start, start + 7 * DAY));
    };
    try {
      const week = page.locator('[data-testid="tile-volume"] a[data-week]');
      const monday = await week.innerText();
      await week.click();
      await expectWeek(monday);

      await page.goBack();
      await page.waitForURL((u) => u.searchParams.get('range') === '28d');
      await page.waitForSelector('body[data-loaded="true"]');
      const weeks = ((await (await fetch(`${bases.main}/api/overview?${query(page)}`)).json()) as { execution_volume_weekly: { week_start: string }[] }).execution_volume_weekly;
      expect(weeks.length).toBeGreaterThan(1);
      // The first bar sits in the middle of the first of the weeks' equal slots.
      const over = page.locator('#chart-weekly .u-over');
      const box = (await over.boundingBox())!;
      await over.click({ position: { x: box.width / weeks.length / 2, y: box.height / 2 } });
      await expectWeek(weeks[0].week_start);
    } finally {
      await page.close();
    }
  }, 240_000);

  for (const width of [360, 390, 1440, 2560]) {
    it(`at ${width} px: nothing wider than the viewport, every column of every table reachable, controls reachable by keyboard`, async () => {
      const page = await open(`${bases.main}/?range=28d`, width);
      try {
        mkdirSync('test-results', { recursive: true });
        await page.screenshot({ path: join('test-results', `dashboard-${width}.png`), fullPage: true });
        const overflow = await overflowingElements(page);
        expect(overflow.out).toEqual([]);
        expect(overflow.scrollWidth).toBe(overflow.vw);
        expect(await unreachableColumns(page)).toEqual([]);

        const reached = new Set<string>();
        for (let i = 0; i < 60; i++) {
          await page.keyboard.press('Tab');
          reached.add(await page.locator('html').evaluate((html) => {
            const el = html.ownerDocument.activeElement;
            return el.dataset.range ?? el.dataset.download ?? el.getAttribute('name') ?? el.getAttribute('aria-label') ?? el.id ?? el.tagName;
          }));
        }
        for (const control of ['1h', '24h', '7d', '28d', 'custom', 'organization_id', 'node_type', 'live-toggle', 'node-types', 'Per action', 'Per organization']) expect(reached).toContain(control);
      } finally {
        await page.close();
      }
    }, 240_000);
  }

  it('every help text says what the tile counts, its target and what to do when red; the budget explains a negative figure', async () => {
    // The alert evaluator's budget row as GET /api/error-budget serves it (that route is the alerts service's).
    const budget = { scope_key: 'node_type=qontak_crm_deal_update', node_type: 'qontak_crm_deal_update', window_minutes: 4320, success_target: 0.97, calls: 4000, failures: 3069, blocked: 0, failure_rate: 3069 / 4000, budget_left: 1 - 3069 / 120, as_of: new Date(NOW).toISOString() };
    const page = await open(`${bases.main}/?range=28d`, 390, (p) => p.route('**/api/error-budget', (route) => route.fulfill({ json: { error_budget: [budget] } })));
    try {
      expect(await page.locator('[data-testid="table-error-budget"] tbody td').allInnerTexts()).toEqual([
        'qontak_crm_deal_update', '4,000', '3,069', '76.7%', '-2457.5% (25.6× the allowed failures)', new Date(NOW).toISOString().slice(0, 19).replace('T', ' ') + ' UTC',
      ]);
      for (const tile of await page.locator('.tile').all()) {
        const help = tile.locator('details.help');
        await help.locator('summary').click();
        const text = await help.innerText();
        expect(text).toMatch(/Counts/);
        expect(text).toMatch(/Target/);
        expect(text).toMatch(/When (red|high)/);
      }
      expect(await page.locator('[data-panel="error-budget"] details.help').textContent()).toContain('−2457.5% means 25.6 times the allowed failures');
    } finally {
      await page.close();
    }
  }, 240_000);

  it('serves every metric as CSV (RFC 4180) equal to its JSON rows, and each panel downloads it', async () => {
    for (const name of METRIC_NAMES) {
      const q = new URLSearchParams({ range: '28d' });
      const json = (await (await fetch(`${bases.main}/api/metrics/${name}?${q}`)).json()) as { rows: Record<string, string | number | null>[] };
      const res = await fetch(`${bases.main}/api/metrics/${name}?${q}&format=csv`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(res.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="?actionpulse_${name}_\\d{4}-`));
      const [header, ...rows] = parseCsv(await res.text()) as [string[], ...(string | null)[][]];
      if (json.rows.length > 0) expect(header).toEqual(Object.keys(json.rows[0]));
      expect(rows).toEqual(json.rows.map((r) => header.map((k) => (r[k] === null ? null : String(r[k])))));
    }
    expect((await fetch(`${bases.main}/api/overview?format=csv`)).status).toBe(400);

    const page = await open(`${bases.main}/?range=7d&organization_id=org-a`);
    try {
      const link = page.locator('a[data-download="node-types"]');
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      const file = readFileSync(await download.path());
      const direct = await (await fetch(`${bases.main}/api/metrics/node-types?range=7d&organization_id=org-a&format=csv`)).text();
      expect(file.toString('utf8')).toBe(direct);
      expect(parseCsv(direct).slice(1)).toEqual([['qontak_crm_deal_update', '0', '11', '3', '0', '0', String((100 * 11) / 14), '200', '200']]);
    } finally {
      await page.close();
    }
  }, 240_000);

  it('a first run shows "No data yet" in every panel instead of zeros', async () => {
    const page = await open(`${bases.empty}/`);
    try {
      expect(query(page).get('range')).toBe('24h');
      const states = await page.locator('[data-panel]:not([hidden])').evaluateAll((els) => els.map((el) => [el.getAttribute('data-panel'), el.getAttribute('data-state'), el.querySelector('.panel-state')?.textContent ?? '']));
      for (const [name, state, text] of states) {
        expect([name, state]).toEqual([name, 'empty']);
        expect(text).toMatch(/^No data/);
      }
      expect(await page.locator('.tile .value').allInnerTexts()).toEqual(Array(6).fill('–'));
    } finally {
      await page.close();
    }
  }, 240_000);

  it('a slow query shows its progress while the other panels fill', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(90_000);
    try {
      await page.clock.install();
      await page.route('**/api/metrics/node-types?*', async (route) => {
        await held;
        await route.continue();
      });
      await page.goto(`${bases.main}/?range=28d`);
      await page.waitForSelector('[data-panel="organizations"][data-state="ready"]');
      await page.waitForSelector('[data-panel="node-types"][data-state="loading"]');
      await page.clock.runFor(5000);
      const progress = await page.locator('[data-panel="node-types"] .panel-state').innerText();
      expect(progress).toMatch(/^Loading… \d+ s$/);
      expect(Number(/(\d+) s/.exec(progress)![1])).toBeGreaterThanOrEqual(5);
      expect(await page.locator('[data-panel="node-types"] .panel-state .progress').count()).toBe(1);
      expect(await page.getAttribute('body', 'data-loaded')).toBe('false');
      release();
      await page.waitForSelector('[data-panel="node-types"][data-state="ready"]');
      await page.waitForSelector('body[data-loaded="true"]');
    } finally {
      release();
      await page.close();
    }
  }, 240_000);

  it('a range that ends now refreshes itself every 30 s with the new "as of", pausable; a fixed range does not', async () => {
    const overviews: string[] = [];
    const page = await open(`${bases.main}/?range=1h`, 1440, async (p) => {
      await p.clock.install();
      p.on('request', (r) => {
        if (r.url().includes('/api/overview')) overviews.push(r.url());
      });
    });
    try {
      expect(await page.locator('#live').isVisible()).toBe(true);
      expect(await page.locator('#live-text').innerText()).toMatch(/^Auto-refresh every 30 s/);
      const before = overviews.length;
      nowMs = NOW + 30 * SEC;
      await page.clock.runFor(30_000);
      await page.waitForSelector(`[data-testid="as-of"][data-to="${new Date(nowMs).toISOString()}"]`);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(overviews.length).toBe(before + 1);
      // 30 s later, the two calls made after the old NOW are inside the rolling hour.
      expect(await detail(page, 'tile-failure-rate')).toBe(failureRateDetail(main, nowMs));

      await page.click('#live-toggle');
      expect(await page.locator('#live-text').innerText()).toBe('Auto-refresh paused');
      await page.clock.runFor(120_000);
      expect(overviews.length).toBe(before + 1);
      // Resuming loads at once.
      await Promise.all([page.waitForRequest('**/api/overview?*'), page.click('#live-toggle')]);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(overviews.length).toBe(before + 2);

      await page.goto(`${bases.main}/?from=${new Date(NOW - DAY).toISOString()}&to=${new Date(NOW - HOUR).toISOString()}`);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.locator('#live').isHidden()).toBe(true);
    } finally {
      nowMs = NOW;
      await page.close();
    }
  }, 240_000);
});
