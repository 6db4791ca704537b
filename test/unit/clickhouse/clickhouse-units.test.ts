import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEvent, validateEvent } from '../../../src/events/index.ts';
import { toEventRow } from '../../../src/consumers/clickhouse/event-row.ts';
import { dedupeToken } from '../../../src/consumers/clickhouse/clickhouse-sink.ts';
import { parseFilters, previousPeriod } from '../../../src/consumers/clickhouse/dashboard-filters.ts';
import { toCsv } from '../../../src/consumers/clickhouse/metric-csv.ts';
import { buildGrafanaDashboard } from '../../../src/consumers/clickhouse/grafana-dashboard.ts';
import { loadRateThresholds, type RateThresholds } from '../../../src/consumers/alerts/rate-thresholds.ts';
import { MIGRATIONS } from '../../../src/consumers/clickhouse/migrations.ts';
import { openRegistryDb } from '../../../src/platform/registry-db.ts';
import { migrateRegistry, setRegistryEnabled } from '../../../src/executors/registry-schema.ts';
import { migrateAlerts } from '../../../src/consumers/alerts/alert-store-schema.ts';
import { loadMetricSql, METRIC_NAMES, takesReason, toChDateTime } from '../../../src/consumers/clickhouse/metric-queries.ts';
import { quantileExact } from '../../../src/workload/ground-truth.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';

const HOUR = 3600_000;

describe('event rows', () => {
  it('flattens the union: absent fields become empty/zero, duration stays NULL when absent', () => {
    const e = buildEvent({ event: 'qontak_action_token_refreshed', source: 'svc', organization_id: 'org-1', outcome: 'failed', timestamp: 1_760_000_000_123 });
    expect(toEventRow(e)).toEqual({
      event_id: e.event_id, event: 'qontak_action_token_refreshed', timestamp: 1_760_000_000_123, organization_id: 'org-1',
      node_type: '', agent_id: '', conversation_id: '', reason: '', outcome: 'failed', change: '', duration_ms: null, attempt: 0,
      upstream_status: 0, registry_scope: '', probe: false, source: 'svc', trace_id: '', span_id: '', schema_version: 1,
    });
    const f = buildEvent({ event: 'qontak_action_failed', source: 'svc', organization_id: 'o', node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: 'c', reason: 'crm_timeout', duration_ms: 0, attempt: 3, upstream_status: 504 });
    expect(toEventRow(f)).toMatchObject({ reason: 'crm_timeout', duration_ms: 0, attempt: 3, upstream_status: 504, node_type: 'qontak_crm_deal_create' });
    const blocked = buildEvent({ event: 'qontak_action_failed', source: 'svc', organization_id: 'o', node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: 'c', reason: 'registry_disabled', duration_ms: 0, registry_scope: 'organization' });
    expect(toEventRow(blocked)).toMatchObject({ registry_scope: 'organization', probe: false });
    const probe = buildEvent({ event: 'qontak_action_executed', source: 'svc', organization_id: 'o', node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: 'c', duration_ms: 5, probe: true });
    expect(toEventRow(probe)).toMatchObject({ registry_scope: '', probe: true });
  });

  it('derives the insert dedupe token from topic, partition and offset range only', () => {
    expect(dedupeToken({ topic: 'ev', partition: 4, firstOffset: '100', lastOffset: '199' })).toBe('ev:4:100-199');
    expect(dedupeToken({ topic: 'ev', partition: 4, firstOffset: '100', lastOffset: '199' })).not.toBe(dedupeToken({ topic: 'ev', partition: 5, firstOffset: '100', lastOffset: '199' }));
  });
});

describe('migrations', () => {
  it('are strictly versioned and every statement is idempotent', () => {
    const versions = MIGRATIONS.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    for (const m of MIGRATIONS) {
      for (const s of m.statements({ db: 'x', ttlDays: 30 })) {
        if (s.startsWith('INSERT')) expect(s).toMatch(/^INSERT INTO (x\.\w+)[\s\S]*(WHERE|AND) \(SELECT count\(\) FROM \1\) = 0/); // a backfill runs into an empty table only
        // Setting a table setting to a value, or building a projection's parts again, leaves the same state when repeated.
        else expect(s).toMatch(/^(CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS x\.|ALTER TABLE x\.\w+ (ADD (COLUMN|PROJECTION) IF NOT EXISTS |MODIFY SETTING \w+ = '\w+'$|MATERIALIZE PROJECTION \w+$)|DROP VIEW IF EXISTS x\.)/);
      }
    }
    expect(MIGRATIONS[0].statements({ db: 'x', ttlDays: 30 })[0]).toContain('INTERVAL 30 DAY');
  });
});

describe('dashboard filters', () => {
  const now = Date.UTC(2026, 10, 25, 10, 37);
  it('honours from/to to the second, as ISO or epoch milliseconds; a quick range or none ends now, to the millisecond', () => {
    const at = Date.UTC(2026, 10, 25, 10, 37, 42, 500);
    const r = parseFilters({}, at, '7d');
    expect(r).toEqual({ ok: true, filters: { fromMs: at - 7 * 24 * 3600_000, toMs: at, organizationId: '', nodeType: '', reason: '', bucketMinutes: 60, rangeName: '7d', live: true, format: 'json', compare: false } });
    expect(parseFilters({ range: '1h' }, at, '7d')).toMatchObject({ ok: true, filters: { fromMs: at - 3600_000, toMs: at, bucketMinutes: 1, rangeName: '1h', live: true } });
    expect(parseFilters({ range: '24h' }, at, '7d')).toMatchObject({ ok: true, filters: { fromMs: at - 24 * 3600_000, bucketMinutes: 15 } });
    expect(parseFilters({ range: '28d' }, at, '7d')).toMatchObject({ ok: true, filters: { fromMs: at - 28 * 24 * 3600_000, bucketMinutes: 360 } });
    const q = parseFilters({ from: '2026-11-20T10:15:30Z', to: '2026-11-20T11:05:00.000+00:00', node_type: 'qontak_chat_room_tag', organization_id: 'org-7', reason: 'crm_timeout' }, now, '7d');
    expect(q).toEqual({ ok: true, filters: { fromMs: Date.UTC(2026, 10, 20, 10, 15, 30), toMs: Date.UTC(2026, 10, 20, 11, 5), organizationId: 'org-7', nodeType: 'qontak_chat_room_tag', reason: 'crm_timeout', bucketMinutes: 1, rangeName: 'custom', live: false, format: 'json', compare: false } });
    // The form notification links carry: epoch milliseconds.
    const e = parseFilters({ from: String(Date.UTC(2026, 10, 25, 9, 36, 59, 999)), to: String(Date.UTC(2026, 10, 25, 10, 36)) }, now, '7d');
    expect(e).toMatchObject({ ok: true, filters: { fromMs: Date.UTC(2026, 10, 25, 9, 36, 59), toMs: Date.UTC(2026, 10, 25, 10, 36), bucketMinutes: 1 } });
    const ninety = parseFilters({ from: '2026-08-27T00:00:00Z', to: '2026-11-25T00:00:00Z' }, now, '7d');
    expect(ninety).toMatchObject({ ok: true, filters: { bucketMinutes: 1440 } });
    // A custom range without `to` ends now, and is live.
    expect(parseFilters({ from: '2026-11-25T09:00:00Z' }, at, '7d')).toMatchObject({ ok: true, filters: { toMs: at, rangeName: 'custom', live: true } });
  });

  it('compares with the previous period: the same range shifted back by its length, same bucket', () => {
    const at = Date.UTC(2026, 10, 25, 10, 37, 42, 500);
    const r = parseFilters({ range: '24h', compare: 'previous', organization_id: 'org-7' }, at, '7d');
    if (!r.ok) throw new Error(r.error);
    expect(r.filters.compare).toBe(true);
    expect(previousPeriod(r.filters)).toEqual({ ...r.filters, fromMs: at - 48 * 3600_000, toMs: at - 24 * 3600_000, live: false, compare: false });
    expect(parseFilters({ compare: 'last-year' }, at, '7d')).toMatchObject({ ok: false, error: expect.stringContaining('compare') });
  });

  it('rejects unknown node types and failure reasons, bad organization ids, inverted ranges and unknown parameters', () => {
    expect(parseFilters({ node_type: 'qontak_fax_send' }, now, '7d')).toMatchObject({ ok: false, error: expect.stringContaining('node_type') });
    expect(parseFilters({ reason: "crm_timeout' OR 1=1" }, now, '7d')).toMatchObject({ ok: false, error: expect.stringContaining('reason') });
    expect(parseFilters({ organization_id: "x' OR 1=1" }, now, '7d')).toMatchObject({ ok: false, error: expect.stringContaining('organization_id') });
    expect(parseFilters({ from: '2026-11-22T00:00:00Z', to: '2026-11-21T00:00:00Z' }, now, '7d')).toEqual({ ok: false, error: 'from must be before to' });
    expect(parseFilters({ from: 'yesterday' }, now, '7d')).toMatchObject({ ok: false, error: expect.stringContaining('epoch milliseconds') });
    expect(parseFilters({ limit: '5' }, now, '7d')).toMatchObject({ ok: false });
    expect(parseFilters({ range: '2h' }, now, '7d')).toMatchObject({ ok: false, error: expect.stringContaining('range') });
    expect(parseFilters({ range: '1h', from: '2026-11-22T00:00:00Z' }, now, '7d')).toMatchObject({ ok: false, error: expect.stringContaining('not both') });
  });

  it('writes a metric as RFC 4180 CSV: header, CRLF, quoted fields with doubled quotes, NULL empty, empty string quoted', () => {
    const csv = toCsv(['reason', 'n', 'share_pct', 'note'], [
      { reason: 'crm_server_error', n: 3, share_pct: 37.5, note: 'a, "b"' },
      { reason: 'registry_disabled', n: 1, share_pct: null, note: 'line\nbreak' },
      { reason: '', n: 0, share_pct: 0.30000000000000004, note: 'x\r\ny' },
    ]);
    expect(csv).toBe('reason,n,share_pct,note\r\ncrm_server_error,3,37.5,"a, ""b"""\r\nregistry_disabled,1,,"line\nbreak"\r\n"",0,0.30000000000000004,"x\r\ny"\r\n');
    expect(toCsv(['a', 'b'], [])).toBe('a,b\r\n');
  });

  it('formats DateTime64 parameters in UTC with milliseconds', () => {
    expect(toChDateTime(Date.UTC(2026, 0, 5, 7, 8, 9, 10))).toBe('2026-01-05 07:08:09.010');
  });
});

describe('metric SQL files', () => {
  it('exist for every metric and take the four shared parameters; the four where a failure reason narrows the calls take it', () => {
    const sql = loadMetricSql();
    for (const name of METRIC_NAMES) {
      const q = sql.get(name)!;
      expect(q, name).toMatch(/^-- /);
      for (const p of ["{to:DateTime64(3, 'UTC')}", '{organization_id:String}', '{node_type:String}', '{db:Identifier}']) expect(q, `${name} ${p}`).toContain(p);
    }
    expect(METRIC_NAMES.filter(takesReason)).toEqual(['failure-reasons', 'node-types', 'organizations', 'actions-timeseries']);
  });

  it('the committed Grafana dashboard is generated from them and the shipped rules, with every parameter replaced by a macro or a literal', () => {
    const committed = JSON.parse(readFileSync('dashboards/grafana/actionpulse.json', 'utf8'));
    expect(committed).toEqual(buildGrafanaDashboard(loadRateThresholds({ sloBurnRate: true })));
    const panels = committed.panels as { targets: { rawSql: string }[] }[];
    expect(panels).toHaveLength(METRIC_NAMES.length);
    for (const p of panels) {
      expect(p.targets[0].rawSql).not.toMatch(/\{\w+:/);
      expect(p.targets[0].rawSql).toContain('actionpulse.');
    }
  });
});

describe('Grafana annotations', () => {
  it('draw the alert episodes and the registry changes, with queries that run on the registry database', async () => {
    const list = (buildGrafanaDashboard(loadRateThresholds({ sloBurnRate: true })).annotations as { list: { name: string; target: { rawSql: string } }[] }).list;
    expect(list.map((a) => a.name)).toEqual(['Alert episodes', 'Kill switch and registry changes']);
    const db = await openRegistryDb({ memory: true });
    try {
      await migrateRegistry(db);
      await migrateAlerts(db);
      const at = Date.now() - 3600_000;
      await db.query(
        `INSERT INTO alert_episodes (rule_id, scope_key, episode, scope, title, severity, rule_kind, threshold, window_minutes, fired_at, fired_value, resolved_at, resolution)
         VALUES ('r', 'node_type=qontak_crm_deal_update', 1, '{"node_type":"qontak_crm_deal_update"}', 'Failure rate', 'error', 'ratio', 0.1, 60, $1, 0.4, $2, 'healthy')`,
        [at, at + 600_000],
      );
      await setRegistryEnabled(db, 'qontak_crm_deal_update', false, { actor: 'admin:dina', reason: 'maintenance' });
      // Grafana's macros and variables as Grafana expands them: the last two hours, one action, every organization.
      const expand = (sql: string, nodeType: string) =>
        sql.replaceAll('$__unixEpochFrom()', String(Math.floor((Date.now() - 2 * 3600_000) / 1000))).replaceAll('$__unixEpochTo()', String(Math.ceil(Date.now() / 1000) + 60))
          .replaceAll('${node_type}', nodeType).replaceAll('${organization_id}', '');
      const [episodes, changes] = list.map((a) => a.target.rawSql);
      const rows = await db.query<{ time: unknown; timeend: unknown }>(expand(episodes, 'qontak_crm_deal_update'));
      expect(rows.map((r) => ({ ...r, time: Number(r.time), timeend: Number(r.timeend) }))).toEqual([{ time: at, timeend: at + 600_000, text: 'Failure rate — {"node_type": "qontak_crm_deal_update"} (healthy)', tags: 'r' }]);
      expect((await db.query<{ text: string }>(expand(changes, 'qontak_crm_deal_update'))).map((r) => r.text)).toEqual(['disable qontak_crm_deal_update by admin:dina: maintenance']);
      expect(await db.query(expand(episodes, 'qontak_chat_room_tag'))).toEqual([]);
      expect(await db.query(expand(changes, 'qontak_chat_room_tag'))).toEqual([]);
    } finally {
      await db.close();
    }
  }, 240_000);
});

describe('Grafana thresholds', () => {
  type Panel = { title: string; targets: { rawSql: string }[]; fieldConfig: { defaults: { thresholds?: { steps: { value: number | null }[] } }; overrides: { properties: { id: string; value: unknown }[] }[] } };
  const panel = (t: RateThresholds, title: string) => (buildGrafanaDashboard(t).panels as Panel[]).find((p) => p.title.includes(title))!;

  it('come from the thresholds given: in the SQL, the titles and the colour steps', () => {
    const t: RateThresholds = { failureRateAlert: 0.25, killSwitch: 0.4, sloAllowedFailureRate: 0.05 };
    const rate = panel(t, 'failed / completed calls per action');
    expect(rate.title).toContain('alert > 25%');
    expect(rate.title).toContain('kill switch > 40%');
    expect(rate.targets[0].rawSql).toContain('100 * 0.25 AS threshold_pct');
    expect(rate.targets[0].rawSql).toContain('failed / completed > 0.25');
    expect(rate.targets[0].rawSql).toContain('100 * 0.4 AS kill_switch_pct');
    const steps = (rate.fieldConfig.overrides[0].properties.find((p) => p.id === 'thresholds')!.value as { steps: { value: number | null }[] }).steps;
    expect(steps.map((s) => s.value)).toEqual([null, 25, 40]);
    const success = panel(t, 'Action success rate');
    expect(success.title).toContain('target ≥ 95%');
    expect(success.targets[0].rawSql).toContain('(1 - 0.05)');
    expect(success.fieldConfig.defaults.thresholds!.steps.map((s) => s.value)).toEqual([null, 95]);
  });

  it('leave a rate without threshold when the rules have no such rule', () => {
    const none: RateThresholds = { failureRateAlert: null, killSwitch: null, sloAllowedFailureRate: null };
    const rate = panel(none, 'failed / completed calls per action');
    expect(rate.title).not.toContain('alert');
    expect(rate.targets[0].rawSql).toContain('CAST(NULL AS Nullable(Float64))');
    expect(rate.fieldConfig.overrides).toEqual([]);
    expect(panel(none, 'Action success rate').fieldConfig.defaults.thresholds).toBeUndefined();
  });
});

describe('workload generator', () => {
  const opts = { seed: 5, endMs: Date.UTC(2026, 10, 1), hours: 72, organizations: 3, agentsPerOrg: 5, invocations: 2000 };
  it('is reproducible from its seed', () => {
    expect(generateWorkload(opts).deliveries).toEqual(generateWorkload(opts).deliveries);
    expect(generateWorkload({ ...opts, seed: 6 }).events[0]).not.toEqual(generateWorkload(opts).events[0]);
  });

  it('delivers about 5% duplicates, out of order, some hours late, all valid and inside the window', () => {
    const w = generateWorkload(opts);
    const dupShare = (w.deliveries.length - w.events.length) / w.events.length;
    expect(dupShare).toBeGreaterThan(0.035);
    expect(dupShare).toBeLessThan(0.065);
    expect(new Set(w.deliveries.map((e) => e.event_id)).size).toBe(w.events.length);
    const late = w.deliveries.filter((e, i) => w.deliveries.slice(0, i).some((p) => p.timestamp - e.timestamp > HOUR));
    expect(late.length).toBeGreaterThan(0);
    expect(w.events.every((e) => validateEvent(e).ok)).toBe(true);
    const kinds = new Set(w.events.map((e) => e.event));
    expect(kinds.size).toBe(7);
    expect(w.events.filter((e) => e.event === 'qontak_action_unconfigured').length).toBeGreaterThan(0);
    expect(w.events.filter((e) => e.event === 'qontak_action_failed' && e.reason === 'registry_disabled').length).toBeGreaterThan(0);
    expect(w.events.filter((e) => e.event === 'qontak_action_failed' && e.reason === 'crm_create_outcome_unknown').length).toBeGreaterThan(0);
    expect(w.events.filter((e) => e.event !== 'qontak_action_configured').every((e) => e.timestamp < opts.endMs && e.timestamp >= opts.endMs - 72 * HOUR)).toBe(true);
  });
});

describe('ground truth quantile', () => {
  it('matches ClickHouse quantileExact: element floor(level * n) of the sorted values', () => {
    expect(quantileExact([4, 1, 3, 2], 0.5)).toBe(3);
    expect(quantileExact([5], 0.95)).toBe(5);
    expect(quantileExact(Array.from({ length: 20 }, (_, i) => i), 0.95)).toBe(19);
    expect(quantileExact([], 0.5)).toBeNull();
  });
});
