import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { buildEvent, type ActionEvent, type NodeType } from '../../../src/events/index.ts';
import { createClickhouse } from '../../../src/platform/clickhouse-client.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { runMigrations } from '../../../src/consumers/clickhouse/migrations.ts';
import { toEventRow } from '../../../src/consumers/clickhouse/event-row.ts';
import { insertSettings } from '../../../src/consumers/clickhouse/clickhouse-sink.ts';
import { runMetric, type MetricRow } from '../../../src/consumers/clickhouse/metric-queries.ts';
import { sealClosedHours } from '../../../src/consumers/clickhouse/seal-hours.ts';
import { createDashboardRouter } from '../../../src/consumers/clickhouse/dashboard-api.ts';
import { DEFAULT_RULES_PATH, SLO_RULES_PATH } from '../../../src/consumers/alerts/alert-rules.ts';
import { loadRateThresholds, type RateThresholds } from '../../../src/consumers/alerts/rate-thresholds.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DB = 'ap_completed';
const SHIPPED = loadRateThresholds({ sloBurnRate: true });
/** Six hours before the last clock hour: inside the TTL, and every hour of the tests is closed (sealable). */
const BASE = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
const SEAL_NOW = BASE + 12 * HOUR;

type Outcome = 'executed' | 'failed' | 'unknown' | 'blocked';
interface Call {
  nodeType: NodeType;
  invokedAt: number;
  durationMs: number;
  outcome: Outcome;
  duplicated: boolean;
}

let seq = 0;
/** One call as the executor reports it: `invoked`, then its outcome `durationMs` later. */
function callEvents(org: string, c: Call): ActionEvent[] {
  const base = { source: 'test', organization_id: org, node_type: c.nodeType, agent_id: 'agent-1', conversation_id: `conv-${++seq}` };
  const end = c.invokedAt + c.durationMs;
  const outcome =
    c.outcome === 'executed'
      ? buildEvent({ event: 'qontak_action_executed', ...base, timestamp: end, duration_ms: c.durationMs })
      : buildEvent({
          event: 'qontak_action_failed',
          ...base,
          timestamp: end,
          duration_ms: c.durationMs,
          reason: c.outcome === 'blocked' ? 'registry_disabled' : c.outcome === 'unknown' ? 'crm_create_outcome_unknown' : 'crm_server_error',
        });
  return [buildEvent({ event: 'qontak_action_invoked', ...base, timestamp: c.invokedAt }), outcome];
}

/**
 * The rate definition written plainly: per node_type, over the outcome events in [toMs − 1 h, toMs), each event_id
 * once, failed = failed events that are not blocked (unknown outcomes included), completed = executed + failed.
 */
function referenceRates(events: readonly ActionEvent[], toMs: number): Map<string, { completed: number; failed: number }> {
  const seen = new Set<string>();
  const out = new Map<string, { completed: number; failed: number }>();
  for (const e of events) {
    if (seen.has(e.event_id) || e.timestamp < toMs - HOUR || e.timestamp >= toMs) continue;
    seen.add(e.event_id);
    if (e.event !== 'qontak_action_executed' && e.event !== 'qontak_action_failed') continue;
    const row = out.get(e.node_type) ?? { completed: 0, failed: 0 };
    out.set(e.node_type, row);
    if (e.event === 'qontak_action_executed') row.completed++;
    else if (e.reason !== 'registry_disabled') {
      row.completed++;
      row.failed++;
    }
  }
  return out;
}

describe('every rate is failed / completed calls, each call once', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-completed-'));
  let clickhouse: ClickHouseClient;
  let token = 0;

  /** Inserts as the sink does, then the duplicated events again in a block of their own (a producer retry). */
  async function deliver(events: ActionEvent[], duplicates: ActionEvent[]): Promise<void> {
    for (const batch of [events, duplicates].filter((b) => b.length > 0)) {
      await clickhouse.insert({ table: `${DB}.action_events`, values: batch.map(toEventRow), format: 'JSONEachRow', clickhouse_settings: insertSettings(`completed-${token++}`) });
    }
  }

  beforeAll(async () => {
    clickhouse = createClickhouse({ dataDir });
    await runMigrations(clickhouse, { database: DB, ttlDays: 400 });
  });

  afterAll(async () => {
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts calls invoked in one hour and finished in the next, delivered twice, in the rates of the hour they finished in, unsealed and sealed', async () => {
    const org = 'org-edge';
    const start = BASE + HOUR;
    const calls: Call[] = [
      // Invoked in the hour before the window, finished inside it: 30 failed, 10 executed, 5 refused.
      ...Array.from({ length: 30 }, (_, i): Call => ({ nodeType: 'qontak_crm_deal_update', invokedAt: start - 40_000 + i, durationMs: 70_000 + i * 1000, outcome: 'failed', duplicated: true })),
      ...Array.from({ length: 10 }, (_, i): Call => ({ nodeType: 'qontak_crm_deal_update', invokedAt: start - 20_000 + i, durationMs: 45_000, outcome: 'executed', duplicated: i % 2 === 0 })),
      ...Array.from({ length: 5 }, (_, i): Call => ({ nodeType: 'qontak_crm_deal_update', invokedAt: start - 1000 + i, durationMs: 1500, outcome: 'blocked', duplicated: true })),
      // Invoked inside the window, finished after it: in no rate of this window.
      ...Array.from({ length: 8 }, (_, i): Call => ({ nodeType: 'qontak_crm_deal_update', invokedAt: start + HOUR - 5000 + i, durationMs: 20_000, outcome: 'executed', duplicated: false })),
    ];
    const events = calls.flatMap((c) => callEvents(org, c));
    await deliver(events, calls.flatMap((c, i) => (c.duplicated ? events.slice(2 * i, 2 * i + 2) : [])));

    const expectRates = async () => {
      const [rate] = await runMetric(clickhouse, DB, 'failure-rate-1h', { fromMs: start, toMs: start + HOUR, organizationId: org }, SHIPPED);
      expect(rate).toMatchObject({ node_type: 'qontak_crm_deal_update', completed: 40, executed: 10, failed: 30, blocked: 5, failure_rate_pct: 75 });
      const [success] = await runMetric(clickhouse, DB, 'success-rate', { fromMs: start, toMs: start + HOUR, organizationId: org }, SHIPPED);
      expect(success).toMatchObject({ executed: 10, failed: 30, completed: 40, blocked: 5, success_rate_pct: 25 });
      expect(Number(success.success_rate_pct) + Number(rate.failure_rate_pct)).toBe(100);
      // A window ending mid-minute (raw rows at both ends) holds the failures whose outcome fell before 00:30:17.
      const inside = events.filter((e) => e.event === 'qontak_action_failed' && e.timestamp < start + 30 * MIN + 17_250).length;
      expect(inside).toBe(30 + 5);
      const [partial] = await runMetric(clickhouse, DB, 'failure-rate-1h', { fromMs: 0, toMs: start + 30 * MIN + 17_250, organizationId: org }, SHIPPED);
      expect(partial).toMatchObject({ completed: 40, failed: 30, failure_rate_pct: 75 });
      for (const name of ['node-types', 'organizations'] as const) {
        const rows = await runMetric(clickhouse, DB, name, { fromMs: start, toMs: start + HOUR, organizationId: org }, SHIPPED);
        expect(rows.map((r) => r.success_rate_pct)).toEqual([25]);
      }
    };
    await expectRates();
    expect(await sealClosedHours(clickhouse, { database: DB, nowMs: SEAL_NOW })).toBeGreaterThan(0);
    await expectRates();
  }, 120_000);

  it('property: for random streams of calls, failure-rate-1h per node_type equals failed / (executed + failed) computed in TypeScript, and is at most 1', async () => {
    const nodeTypes: NodeType[] = ['qontak_crm_deal_create', 'qontak_crm_deal_update', 'qontak_chat_room_tag'];
    const call = fc.record({
      nodeType: fc.constantFrom(...nodeTypes),
      invokedAt: fc.integer({ min: BASE, max: BASE + 3 * HOUR }),
      // Up to two hours: many calls cross a window edge or a clock hour.
      durationMs: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 * HOUR })),
      outcome: fc.constantFrom<Outcome>('executed', 'executed', 'failed', 'unknown', 'blocked'),
      duplicated: fc.boolean(),
    });
    const scenario = fc.record({
      calls: fc.array(call, { maxLength: 40 }),
      toMs: fc.integer({ min: BASE + 30 * MIN, max: BASE + 5 * HOUR }),
      seal: fc.boolean(),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ calls, toMs, seal }) => {
        // Each run its own organization: the runs share the tables, never a row of each other's.
        const org = `org-prop-${run++}`;
        const events = calls.flatMap((c) => callEvents(org, c));
        await deliver(events, calls.flatMap((c, i) => (c.duplicated ? events.slice(2 * i, 2 * i + 2) : [])));
        if (seal) await sealClosedHours(clickhouse, { database: DB, nowMs: SEAL_NOW });
        const rows = await runMetric(clickhouse, DB, 'failure-rate-1h', { fromMs: 0, toMs, organizationId: org }, SHIPPED);
        const reference = referenceRates(events, toMs);
        const actual = rows.map((r) => ({ node_type: r.node_type, completed: Number(r.completed), failed: Number(r.failed), pct: r.failure_rate_pct }));
        const expected = [...reference].sort(([a], [b]) => a.localeCompare(b)).map(([nodeType, r]) => ({
          node_type: nodeType,
          completed: r.completed,
          failed: r.failed,
          pct: r.completed === 0 ? null : (100 * r.failed) / r.completed,
        }));
        expect(actual).toEqual(expected);
        for (const r of actual) if (r.pct !== null) expect(Number(r.pct)).toBeLessThanOrEqual(100);
      }),
      // Bounded: each run is a few inserts and one query on the embedded engine.
      { numRuns: 25 },
    );
  }, 120_000);

  describe('thresholds come from the rules file', () => {
    const rulesDir = mkdtempSync(join(tmpdir(), 'actionpulse-rules-'));
    const servers: Server[] = [];
    const org = 'org-threshold';
    const to = BASE + 4 * HOUR;

    /** The dashboard API as `npm start` serves it, with these thresholds. */
    async function dashboard(thresholds: RateThresholds): Promise<string> {
      const app = express();
      app.use(createDashboardRouter({ clickhouse, database: DB, logger: silentLogger, thresholds }));
      const server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    async function rows(base: string, metric: string): Promise<MetricRow[]> {
      const res = await fetch(`${base}/api/metrics/${metric}?${new URLSearchParams({ from: String(to - HOUR), to: String(to), organization_id: org })}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { rows: MetricRow[] }).rows;
    }

    /** A copy of a shipped rules file with one rule's threshold changed (the rest as shipped). */
    function changedRules(from: string, ruleId: string, threshold: number, extra: object[] = []): string {
      const file = JSON.parse(readFileSync(from, 'utf8')) as { rules: { id: string; threshold: number; recoveryThreshold?: number }[] };
      for (const rule of file.rules) {
        if (rule.id !== ruleId) continue;
        rule.threshold = threshold;
        if (rule.recoveryThreshold !== undefined) rule.recoveryThreshold = threshold;
      }
      file.rules.push(...(extra as typeof file.rules));
      const path = join(rulesDir, `${ruleId}-${threshold}.json`);
      writeFileSync(path, JSON.stringify(file));
      return path;
    }

    afterAll(async () => {
      for (const s of servers) await new Promise<void>((done) => s.close(() => done()));
      rmSync(rulesDir, { recursive: true, force: true });
    });

    it('a higher failure-rate threshold in the rules file turns the above-threshold flag off; an SLO rule in it sets the success target', async () => {
      // 10 completed calls in the hour, 3 failed: 30 %, above the shipped 10 %, below 35 %.
      const calls = Array.from({ length: 10 }, (_, i): Call => ({ nodeType: 'qontak_chat_room_tag', invokedAt: to - 50 * MIN + i * MIN, durationMs: 800, outcome: i < 3 ? 'failed' : 'executed', duplicated: false }));
      await deliver(calls.flatMap((c) => callEvents(org, c)), []);

      const shipped = await dashboard(SHIPPED);
      expect(await rows(shipped, 'failure-rate-1h')).toEqual([expect.objectContaining({ completed: 10, failed: 3, failure_rate_pct: 30, threshold_pct: 100 * SHIPPED.failureRateAlert!, above_threshold: 1 })]);
      expect(await rows(shipped, 'success-rate')).toEqual([expect.objectContaining({ success_rate_pct: 70, target_pct: 100 * (1 - SHIPPED.sloAllowedFailureRate!), meets_target: 0 })]);

      const slo = (JSON.parse(readFileSync(SLO_RULES_PATH, 'utf8')) as { rules: { id: string }[] }).rules.find((r) => r.id === 'slo-budget-burn-3d')!;
      const rulesFile = changedRules(DEFAULT_RULES_PATH, 'failure-rate-1h', 0.35, [{ ...slo, threshold: 0.4 }]);
      const changed = await dashboard(loadRateThresholds({ rulesFile, sloBurnRate: false }));
      expect(await rows(changed, 'failure-rate-1h')).toEqual([expect.objectContaining({ failure_rate_pct: 30, threshold_pct: 35, above_threshold: 0 })]);
      expect(await rows(changed, 'success-rate')).toEqual([expect.objectContaining({ success_rate_pct: 70, target_pct: 60, meets_target: 1 })]);

      // A rules file without the failure-rate rule: the rate stays, with no threshold and no flag.
      const withoutRule = join(rulesDir, 'without.json');
      const base = JSON.parse(readFileSync(DEFAULT_RULES_PATH, 'utf8')) as { rules: { id: string }[] };
      writeFileSync(withoutRule, JSON.stringify({ ...base, rules: base.rules.filter((r) => r.id !== 'failure-rate-1h') }));
      const none = await dashboard(loadRateThresholds({ rulesFile: withoutRule, sloBurnRate: true }));
      expect(await rows(none, 'failure-rate-1h')).toEqual([expect.objectContaining({ failure_rate_pct: 30, threshold_pct: null, above_threshold: null })]);
    }, 60_000);
  });
});
