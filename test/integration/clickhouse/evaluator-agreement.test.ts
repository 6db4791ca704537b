import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { buildEvent, type ActionEvent, type NodeType } from '../../../src/events/index.ts';
import { createClickhouse } from '../../../src/platform/clickhouse-client.ts';
import { runMigrations } from '../../../src/consumers/clickhouse/migrations.ts';
import { toEventRow } from '../../../src/consumers/clickhouse/event-row.ts';
import { runMetric } from '../../../src/consumers/clickhouse/metric-queries.ts';
import { AlertEngine } from '../../../src/consumers/alerts/alert-engine.ts';
import { loadRulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { rateThresholds } from '../../../src/consumers/alerts/rate-thresholds.ts';
import { drive } from '../../unit/alerts/engine-driver.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DB = 'ap_agreement';
/** Half past a clock hour: every rolling hour evaluated below crosses a clock hour. */
const T0 = Date.UTC(2026, 10, 30, 9, 30);

let seq = 0;
function ev(kind: 'invoked' | 'executed' | 'failed', ts: number, nodeType: NodeType, reason: 'crm_server_error' | 'crm_create_outcome_unknown' | 'registry_disabled' = 'crm_server_error'): ActionEvent {
  const base = { source: 'test', organization_id: 'org-1', node_type: nodeType, agent_id: 'agent-1', conversation_id: `c-${++seq}`, timestamp: ts };
  if (kind === 'invoked') return buildEvent({ event: 'qontak_action_invoked', ...base });
  if (kind === 'executed') return buildEvent({ event: 'qontak_action_executed', ...base, duration_ms: 120 });
  return buildEvent({ event: 'qontak_action_failed', ...base, reason, duration_ms: 2000 });
}

/**
 * Two and a half hours of one stream: deal updates at 3 calls a minute that fail 2 in 3 between 10:10 and 10:50,
 * a create every 7 minutes whose outcome is unknown (a failure in both places) and comes 95 s after its invocation
 * (windows that hold the outcome without the invocation: both count the outcome), calls refused by the kill switch
 * between 10:30 and 11:00 (blocked: in neither count, in both places), some events delivered twice.
 */
function stream(): ActionEvent[] {
  const out: ActionEvent[] = [];
  for (let m = 0; m < 150; m++) {
    const t = T0 + m * MIN;
    for (let k = 0; k < 3; k++) {
      out.push(ev('invoked', t + k * 1000, 'qontak_crm_deal_update'));
      const failing = m >= 40 && m < 80 && k < 2;
      out.push(ev(failing ? 'failed' : 'executed', t + k * 1000 + 500, 'qontak_crm_deal_update'));
    }
    if (m >= 60 && m < 90) {
      out.push(ev('invoked', t + 8000, 'qontak_crm_deal_update'));
      out.push(ev('failed', t + 8001, 'qontak_crm_deal_update', 'registry_disabled'));
    }
    if (m % 7 === 0) {
      out.push(ev('invoked', t + 5000, 'qontak_crm_deal_create'));
      out.push(ev('failed', t + 100_000, 'qontak_crm_deal_create', 'crm_create_outcome_unknown'));
    }
  }
  const duplicates = out.filter((_, i) => i % 13 === 0);
  return [...out, ...duplicates].sort((a, b) => a.timestamp - b.timestamp);
}

describe('the dashboard and the alert evaluator agree on the rolling hour', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-agreement-'));
  let clickhouse: ClickHouseClient;
  const events = stream();

  beforeAll(async () => {
    clickhouse = createClickhouse({ dataDir });
    await runMigrations(clickhouse, { database: DB, ttlDays: 400 });
    for (let i = 0; i < events.length; i += 400) {
      await clickhouse.insert({ table: `${DB}.action_events`, values: events.slice(i, i + 400).map(toEventRow), format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: `agreement-${i}` } });
    }
  });

  afterAll(async () => {
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('failure-rate-1h over [at − 60 min, at) equals the numerator and denominator of every evaluator transition', async () => {
    const rules = loadRulesFile();
    const engine = new AlertEngine(rules, { minuteMs: MIN });
    // The evaluator's overall scope also leaves out, entirely, an action disabled at that instant (its rule for
    // a wider scope, reported as `excluded`); the dashboard has no "disabled at" state, so those are not compared.
    const all = drive(engine, events, events[events.length - 1].timestamp).filter((t) => t.rule.id === 'failure-rate-1h');
    const transitions = all.filter((t) => !t.observation.excluded?.length);
    expect(all.length - transitions.length).toBeLessThan(all.length / 2);
    // Pending, firing and resolving, per action and overall, at minutes that are not clock hours.
    expect(transitions.length).toBeGreaterThanOrEqual(4);
    expect(transitions.some((t) => t.at % HOUR !== 0 && Math.floor((t.at - HOUR) / HOUR) !== Math.floor(t.at / HOUR))).toBe(true);
    for (const t of transitions) {
      const rows = await runMetric(clickhouse, DB, 'failure-rate-1h', { fromMs: t.at - HOUR, toMs: t.at, nodeType: t.next.scope.node_type ?? '' }, rateThresholds(rules));
      const dashboard = { failed: rows.reduce((n, r) => n + Number(r.failed), 0), completed: rows.reduce((n, r) => n + Number(r.completed), 0) };
      expect({ at: new Date(t.at).toISOString(), scope: t.next.scopeKey, ...dashboard }).toEqual({
        at: new Date(t.at).toISOString(),
        scope: t.next.scopeKey,
        failed: t.observation.numerator,
        completed: t.observation.denominator,
      });
    }
  });
});
