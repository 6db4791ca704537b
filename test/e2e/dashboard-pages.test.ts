import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
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
import { openRegistryDb, type SqlDb } from '../../src/platform/registry-db.ts';
import { ClickhouseSink } from '../../src/consumers/clickhouse/clickhouse-sink.ts';
import { createDashboardRouter } from '../../src/consumers/clickhouse/dashboard-api.ts';
import { runMigrations } from '../../src/consumers/clickhouse/migrations.ts';
import { buildEvent, type ActionEvent } from '../../src/events/index.ts';
import { migrateRegistry, setOrganizationEnabled, setRegistryEnabled } from '../../src/executors/registry-schema.ts';
import { AlertEngine, type Transition } from '../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile, parseRules } from '../../src/consumers/alerts/alert-rules.ts';
import { migrateAlerts } from '../../src/consumers/alerts/alert-store-schema.ts';
import { AlertStore } from '../../src/consumers/alerts/alert-store.ts';
import { OutboxDispatcher } from '../../src/consumers/alerts/outbox-dispatcher.ts';
import { SlackNotifier } from '../../src/consumers/alerts/notifiers/slack-notifier.ts';
import { loadRateThresholds } from '../../src/consumers/alerts/rate-thresholds.ts';
import type { Annotation } from '../../src/consumers/alerts/annotations.ts';
import { FakeSlack } from '../fakes/fake-slack.ts';
import { drive } from '../unit/alerts/engine-driver.ts';
import { parseCsv } from '../helpers/csv.ts';
import { overflowingElements, unreachableColumns } from '../helpers/page-layout.ts';

/**
 * The pages that explain an alert: an incident made by this test goes through the alert engine and the real alert
 * store (episodes, the kill switch's disable in the registry and its audit row), an operator re-enables the action,
 * the outbox delivers the pages to a local Slack; then the Slack link, the annotations on the charts and the
 * drill-down from the overview to the per-action and per-organization pages are checked in Chromium.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const DB = 'pages_main';
const NODE = 'qontak_crm_deal_update';
const THRESHOLDS = loadRateThresholds({ sloBurnRate: true });
// The shipped rules, the kill switch's 24 h made 10 min so that the incident disables the action.
const RULES = (() => {
  const shipped = loadRulesFile();
  return parseRules({ ...shipped, rules: shipped.rules.map((r) => (r.action === 'disable_node_type' ? { ...r, pendingMinutes: 10, sustainedGapMinutes: 10, minVolume: 20 } : r)) });
})();

/**
 * Deal updates at 4 calls a minute (one per organization) over 200 minutes from `start`, three organizations of four
 * failing from minute 30 to 70: more than the kill switch's blast radius, so it disables the action for everyone.
 */
function incident(start: number): ActionEvent[] {
  const out: ActionEvent[] = [];
  let n = 0;
  for (let m = 0; m < 200; m++) {
    for (let k = 0; k < 4; k++) {
      const t = start + m * MIN + k * 1000;
      const base = { source: 'test', organization_id: `org-${'abcd'[k]}`, node_type: NODE, agent_id: `agent-${k}`, conversation_id: `c-${++n}` } as const;
      out.push(buildEvent({ event: 'qontak_action_invoked', ...base, timestamp: t }));
      out.push(m >= 30 && m < 70 && k < 3
        ? buildEvent({ event: 'qontak_action_failed', ...base, timestamp: t + 400, reason: 'crm_server_error', duration_ms: 900 })
        : buildEvent({ event: 'qontak_action_executed', ...base, timestamp: t + 400, duration_ms: 300 }));
    }
  }
  return out;
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('per-action and per-organization pages, annotations and the Slack link, in Chromium', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-pages-'));
  const start = Math.floor(Date.now() / MIN) * MIN - 5 * HOUR;
  const events = incident(start);
  const slack = new FakeSlack();
  let clickhouse: ClickHouseClient;
  let db: SqlDb;
  let server: Server;
  let browser: Browser;
  let base = '';
  let transitions: Transition[] = [];
  let trigger: Transition;
  let resolve: Transition;
  let disable: Transition;
  let reenabledAt = 0;

  beforeAll(async () => {
    clickhouse = createClickhouse({ dataDir });
    await runMigrations(clickhouse, { database: DB, ttlDays: 400 });
    const sink = new ClickhouseSink({ client: clickhouse, database: DB, logger: silentLogger });
    expect((await sink.write({ events, topic: 'seed', partition: 0, firstOffset: '0', lastOffset: String(events.length - 1) }, new AbortController().signal)).status).toBe('ok');

    db = await openRegistryDb({ memory: true });
    await migrateRegistry(db);
    await migrateAlerts(db);
    await slack.start();
    transitions = drive(new AlertEngine(RULES, { minuteMs: MIN }), events, events.at(-1)!.timestamp + 2 * HOUR);
    const byRule = (id: string, effect: 'trigger' | 'resolve' | 'action') =>
      transitions.find((t) => t.rule.id === id && t.effects.includes(effect) && t.next.scope.node_type === NODE && !t.next.scope.organization_id)!;
    trigger = byRule('failure-rate-1h', 'trigger');
    resolve = byRule('failure-rate-1h', 'resolve');
    disable = byRule('sustained-failure-kill-switch', 'action');
    expect([trigger, resolve, disable].every(Boolean)).toBe(true);

    // The server is started before the transitions are stored: their links must name it.
    const app = express();
    app.use(createDashboardRouter({ clickhouse, database: DB, logger: silentLogger, thresholds: THRESHOLDS, db }));
    server = await new Promise<Server>((done) => {
      const s = app.listen(0, '127.0.0.1', () => done(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const store = new AlertStore(db, { routes: { 'bot-oncall': ['slack'], 'crm-oncall': ['slack'] }, dashboardBaseUrl: base, killSwitch: { dryRun: false, maxPer24h: 3, capWindowMs: 24 * HOUR, blastRadius: RULES.blastRadius, recovery: RULES.recovery, minuteMs: 60_000 } });
    for (const t of transitions) expect((await store.apply(t)).won).toBe(true);
    // An operator switches the action back on, as the admin API does.
    await setRegistryEnabled(db, NODE, true, { actor: 'admin:dina', reason: 'CRM fixed', details: { via: 'admin-api' } });
    reenabledAt = Date.now();

    const dispatcher = new OutboxDispatcher({ db, notifiers: { slack: new SlackNotifier({ name: 'slack', webhookUrl: slack.webhook('oncall') }) }, logger: silentLogger, pollMs: 100 });
    dispatcher.start();
    try {
      await until(async () => ((await db.query(`SELECT 1 FROM alert_outbox WHERE status = 'pending'`)).length === 0 ? true : undefined), 'the outbox delivered');
    } finally {
      await dispatcher.stop();
    }
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    await slack.stop();
    await db?.close();
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function annotations(query: string): Promise<Annotation[]> {
    const res = await fetch(`${base}/api/annotations?${query}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { annotations: Annotation[] }).annotations;
  }
  async function rows(path: string, query: string): Promise<Record<string, string | number | null>[]> {
    const res = await fetch(`${base}${path}?${query}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { rows: Record<string, string | number | null>[] }).rows;
  }
  async function open(url: string, width: number): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    page.setDefaultTimeout(90_000);
    await page.goto(url);
    await page.waitForSelector('body[data-loaded="true"]');
    return page;
  }
  const cells = (page: Page, id: string) => page.locator(`[data-testid="${id}"] tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  const episodeId = () => `failure-rate-1h/${trigger.next.scopeKey}/${trigger.next.episode}`;

  it('serves the episode made by the test, the kill switch disable and the re-enable for the range and filters, as JSON and CSV', async () => {
    const all = await annotations('range=24h');
    const episode = all.find((a) => a.id === episodeId());
    expect(episode).toMatchObject({ kind: 'alert_episode', start_ms: trigger.at, end_ms: resolve.at, node_type: NODE, organization_id: null, title: trigger.rule.title });
    expect(new URL(episode!.url, base).pathname).toBe('/action.html');
    expect(Object.fromEntries(new URL(episode!.url, base).searchParams)).toEqual({ node_type: NODE, from: new Date(trigger.at - HOUR).toISOString(), to: new Date(resolve.at).toISOString() });
    const changes = all.filter((a) => a.kind === 'registry_change');
    expect(changes.map((a) => [a.title, a.node_type, a.actor])).toEqual([
      ['disable', NODE, 'alert:sustained-failure-kill-switch'],
      ['enable', NODE, 'admin:dina'],
    ]);
    // A global change says it was for everyone.
    expect(changes.map((a) => a.detail.split(' by ')[0])).toEqual([`disable: ${NODE} for everyone`, `enable: ${NODE} for everyone`]);
    // The disable is drawn at the event time the kill switch decided on; the re-enable when it was written.
    expect(changes[0].start_ms).toBe(disable.at);
    expect(changes[1].start_ms).toBeGreaterThan(reenabledAt - 60_000);
    expect(changes[1].start_ms).toBeLessThanOrEqual(reenabledAt);

    // A range that ends before the incident holds none of it; another action's filter none of this action's.
    expect(await annotations(new URLSearchParams({ from: new Date(start - 3 * HOUR).toISOString(), to: new Date(start - HOUR).toISOString() }).toString())).toEqual([]);
    expect((await annotations('range=24h&node_type=qontak_chat_room_tag')).filter((a) => a.node_type === NODE)).toEqual([]);

    const res = await fetch(`${base}/api/annotations?range=24h&format=csv`);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const [header, ...records] = parseCsv(await res.text());
    expect(header).toEqual(['kind', 'id', 'start', 'end', 'node_type', 'organization_id', 'title', 'detail', 'actor', 'url']);
    const again = await annotations('range=24h');
    expect(records).toEqual(again.map((a) => [a.kind, a.id, new Date(a.start_ms).toISOString(), a.end_ms === null ? null : new Date(a.end_ms).toISOString(), a.node_type, a.organization_id, a.title, a.detail, a.actor, a.url]));
  });

  it('reads audit rows generically: an organization-scoped disable, and a kind of change it has never seen, show under their organization only', async () => {
    await setOrganizationEnabled(db, NODE, 'org-a', false, { actor: 'admin:ops', reason: 'org-a CRM down' });
    const forA = (await annotations('range=24h&organization_id=org-a')).filter((a) => a.actor === 'admin:ops');
    expect(forA.map((a) => [a.title, a.node_type, a.organization_id])).toEqual([['disable', NODE, 'org-a']]);
    expect(forA[0].detail).toContain(`disable: ${NODE} for org-a by admin:ops — org-a CRM down`);
    expect((await annotations('range=24h&organization_id=org-b')).filter((a) => a.actor === 'admin:ops')).toEqual([]);
    await db.query(`INSERT INTO node_registry_audit (node_type, action, actor, reason, details) VALUES ($1, 'enable', 'alert:probe', 'probe calls succeeded', $2::jsonb)`, [
      NODE,
      JSON.stringify({ kind: 'automatic', organization_id: 'org-b' }),
    ]);
    const forB = (await annotations('range=24h&organization_id=org-b')).filter((a) => a.actor === 'alert:probe');
    expect(forB.map((a) => [a.title, a.organization_id])).toEqual([['enable (automatic)', 'org-b']]);
    expect((await annotations('range=24h&organization_id=org-a')).filter((a) => a.actor === 'alert:probe')).toEqual([]);
    await db.query(`DELETE FROM node_registry_audit WHERE actor IN ('alert:probe', 'admin:ops')`);
    await db.query(`DELETE FROM node_registry_organizations`);
  });

  for (const width of [390, 1440]) {
    it(`at ${width} px the Slack link opens the action page with the episode's window, its annotations with tooltips, nothing wider than the viewport, every column reachable`, async () => {
      const message = slack.for('oncall').find((m) => m.body.text?.startsWith('[FIRING]') && m.body.text.includes(trigger.rule.title) && m.body.text.includes(`node_type=${NODE}`));
      expect(message).toBeDefined();
      const actions = message!.body.blocks!.find((b) => b.type === 'actions') as unknown as { elements: { url: string; text: { text: string } }[] };
      const link = actions.elements[0].url;
      expect(actions.elements[0].text.text).toBe(`Action page: ${NODE}`);
      expect(link.startsWith(`${base}/action.html?`)).toBe(true);
      const page = await open(link, width);
      try {
        const window = { from: new Date(trigger.at - HOUR).toISOString(), to: new Date(trigger.at).toISOString() };
        expect(await page.locator('[data-testid="subject"]').innerText()).toBe(NODE);
        expect(await page.locator('#as-of').getAttribute('data-from')).toBe(window.from);
        expect(await page.locator('#as-of').getAttribute('data-to')).toBe(window.to);
        // The page's numbers are the metric routes' for the same query.
        const query = new URLSearchParams({ node_type: NODE, ...window }).toString();
        const summary = await rows('/api/metrics/node-types', query);
        expect(summary.map((r) => r.node_type)).toEqual([NODE]);
        expect((await cells(page, 'table-summary'))[0].slice(0, 4)).toEqual([NODE, ...['invoked', 'executed', 'failed'].map((k) => Number(summary[0][k]).toLocaleString('en-US'))]);
        expect((await cells(page, 'table-failure-reasons')).map((r) => r[0])).toEqual((await rows('/api/metrics/failure-reasons', query)).map((r) => r.reason));
        // The episode is drawn on the chart, with its tooltip and a link to its window, and listed.
        const band = page.locator(`#chart-calls .annotation[data-id="${episodeId()}"]`);
        expect(await band.count()).toBe(1);
        expect(await band.getAttribute('data-kind')).toBe('alert_episode');
        const box = (await band.boundingBox())!;
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.locator(`#chart-calls .annotation[data-id="${episodeId()}"] .annotation-tip`).waitFor({ state: 'visible' });
        expect(await band.locator('.annotation-tip').innerText()).toContain(trigger.rule.title);
        const listed = await annotations(query);
        expect(await band.getAttribute('href')).toBe(listed.find((a) => a.id === episodeId())!.url);
        expect((await cells(page, 'table-episodes')).map((r) => r[0])).toEqual(listed.filter((a) => a.kind === 'alert_episode').map((a) => a.title));

        mkdirSync('test-results', { recursive: true });
        await page.screenshot({ path: join('test-results', `dashboard-action-${width}.png`), fullPage: true });
        expect(statSync(join('test-results', `dashboard-action-${width}.png`)).size).toBeGreaterThan(10_000);
        const overflow = await overflowingElements(page);
        expect(overflow.out).toEqual([]);
        expect(overflow.scrollWidth).toBe(overflow.vw);
        expect(await unreachableColumns(page)).toEqual([]);
      } finally {
        await page.close();
      }
    }, 240_000);
  }

  it('the overview draws the annotations on its time series, and drills down to the action page, then to an organization page', async () => {
    const page = await open(`${base}/?range=24h`, 1440);
    try {
      const drawn = await page.locator('#chart-timeseries .annotation').evaluateAll((as) => as.map((a) => a.getAttribute('data-id')));
      expect(drawn).toContain(episodeId());
      expect(drawn.length).toBe((await annotations('range=24h')).length);

      await page.locator(`[data-testid="table-node-types"] a[data-drill]`, { hasText: NODE }).click();
      await page.waitForURL((u) => u.searchParams.get('node_type') === NODE);
      await page.waitForSelector('body[data-loaded="true"]');
      await page.locator('[data-testid="action-page"]').click();
      await page.waitForURL((u) => u.pathname === '/action.html' && u.searchParams.get('node_type') === NODE && u.searchParams.get('range') === '24h');
      await page.waitForSelector('body[data-loaded="true"]');
      const byOrg = await rows('/api/metrics/organizations', `range=24h&node_type=${NODE}`);
      expect((await cells(page, 'table-organizations')).map((r) => r[0])).toEqual(byOrg.map((r) => r.organization_id));
      expect(await page.locator('#chart-calls .annotation[data-kind="registry_change"]').count()).toBe(2);

      await page.locator('[data-testid="table-organizations"] a[data-drill]', { hasText: 'org-b' }).click();
      await page.waitForURL((u) => u.pathname === '/organization.html' && u.searchParams.get('organization_id') === 'org-b');
      await page.waitForSelector('body[data-loaded="true"]');
      const perAction = await rows('/api/metrics/node-types', 'range=24h&organization_id=org-b');
      expect((await cells(page, 'table-summary')).map((r) => [r[0], r[2], r[3]])).toEqual(perAction.map((r) => [r.node_type, Number(r.executed).toLocaleString('en-US'), Number(r.failed).toLocaleString('en-US')]));
      // From the organization, an action opens its page filtered to the organization.
      await page.locator('[data-testid="table-summary"] a[data-drill]', { hasText: NODE }).click();
      await page.waitForURL((u) => u.pathname === '/action.html' && u.searchParams.get('organization_id') === 'org-b' && u.searchParams.get('node_type') === NODE);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.locator('#scope').innerText()).toBe('Organization org-b only');
    } finally {
      await page.close();
    }
  }, 240_000);

  it('a click on a failure reason narrows the organization page to the calls that failed with it (exact counts), its chip drops it', async () => {
    const page = await open(`${base}/organization.html?organization_id=org-b&range=24h`, 390);
    try {
      const to = Date.parse((await page.locator('#as-of').getAttribute('data-to'))!);
      await page.locator('[data-testid="table-failure-reasons"] a[data-drill]', { hasText: 'crm_server_error' }).click();
      await page.waitForURL((u) => u.pathname === '/organization.html' && u.searchParams.get('reason') === 'crm_server_error');
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.locator('[data-testid="filter-chips"] .chip b').allInnerTexts()).toEqual(['crm_server_error']);
      const asked = new URL(page.url()).searchParams;
      expect([asked.get('organization_id'), asked.get('range')]).toEqual(['org-b', '24h']);
      // Ground truth: the inserted failures of org-b with that reason in the 24 h before the page's "to".
      const failed = events.filter((e) => e.event === 'qontak_action_failed' && e.reason === 'crm_server_error' && e.organization_id === 'org-b' && e.timestamp >= to - 24 * HOUR && e.timestamp < to).length;
      expect(failed).toBeGreaterThan(0);
      expect(await cells(page, 'table-summary')).toEqual([[NODE, 'n/a', 'n/a', failed.toLocaleString('en-US'), '0', '0', 'n/a', 'n/a', 'n/a']]);
      // The episodes and registry changes are not narrowed by a reason, and say so.
      expect(await page.locator('[data-panel="episodes"] .scope-note').innerText()).toBe('(every reason)');
      const overflow = await overflowingElements(page);
      expect(overflow.out).toEqual([]);
      await page.locator('[data-filter="reason"] a').click();
      await page.waitForURL((u) => u.pathname === '/organization.html' && !u.searchParams.has('reason'));
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.getByTestId('filter-chips').isHidden()).toBe(true);
      expect((await cells(page, 'table-summary'))[0][2]).not.toBe('n/a');
    } finally {
      await page.close();
    }
  }, 240_000);

  it('every panel of the action and organization pages has its help: what it counts, the target, what to do', async () => {
    for (const url of [`${base}/action.html?node_type=${NODE}&range=24h`, `${base}/organization.html?organization_id=org-a&range=24h`]) {
      const page = await open(url, 1440);
      try {
        const panels = await page.locator('[data-panel]').all();
        expect(panels.length).toBeGreaterThan(3);
        for (const p of panels) {
          const help = p.locator('details.help');
          expect(await help.count(), `${url} ${await p.getAttribute('data-panel')}`).toBe(1);
          await help.locator('summary').click();
          const text = await help.innerText();
          expect(text).toMatch(/Counts/);
          expect(text).toMatch(/Target/);
          expect(text).toMatch(/When /);
        }
      } finally {
        await page.close();
      }
    }
  }, 240_000);

  it('on a first run the action and organization pages say "No data yet" in every panel, not zeros', async () => {
    await runMigrations(clickhouse, { database: 'pages_empty', ttlDays: 400 });
    const app = express();
    app.use(createDashboardRouter({ clickhouse, database: 'pages_empty', logger: silentLogger, thresholds: THRESHOLDS }));
    const empty = await new Promise<Server>((done) => {
      const s = app.listen(0, '127.0.0.1', () => done(s));
    });
    const emptyBase = `http://127.0.0.1:${(empty.address() as AddressInfo).port}`;
    try {
      for (const path of [`/action.html?node_type=${NODE}`, '/organization.html?organization_id=org-a']) {
        const page = await open(`${emptyBase}${path}`, 390);
        try {
          const states = await page.locator('[data-panel]').evaluateAll((els) => els.map((el) => [el.getAttribute('data-panel'), el.getAttribute('data-state'), el.querySelector('.panel-state')?.textContent ?? '']));
          expect(states.length).toBeGreaterThan(3);
          for (const [name, state, text] of states) expect([path, name, state, text]).toEqual([path, name, 'empty', 'No data yet.']);
        } finally {
          await page.close();
        }
      }
    } finally {
      await new Promise<void>((done) => empty.close(() => done()));
    }
  }, 240_000);
});
