import type { RateThresholds } from '../alerts/rate-thresholds.ts';
import { loadMetricSql, type MetricName } from './metric-queries.ts';

/**
 * Builds dashboards/grafana/actionpulse.json from the same SQL files as the web dashboard, so on-call's
 * Grafana panels can never drift from the PM numbers. Data source: the official ClickHouse plugin
 * (grafana-clickhouse-datasource); query parameters become its macros and three textbox variables (organization, action, failure reason), and the alert
 * rules' thresholds become literals (Grafana cannot read the rules file), in the SQL and in the panels' colours.
 * Regenerate: `npx tsx src/consumers/clickhouse/grafana-dashboard.ts > dashboards/grafana/actionpulse.json`
 * (the rules of `ALERT_RULES_FILE` / `ALERT_SLO_BURN_RATE`, the shipped ones when unset).
 */
const sqlNumber = (v: number | null) => (v === null ? 'CAST(NULL AS Nullable(Float64))' : String(v));
/** 0.1 → "10%", without the float noise of 100 × 0.07. */
const percent = (fraction: number) => `${Number((100 * fraction).toFixed(4))}%`;

export function grafanaSql(sql: string, thresholds: RateThresholds, database = 'actionpulse', metric?: MetricName): string {
  // The rolling hour is always the 60 minutes before the range's end (metricParams does the same).
  const from = metric === 'failure-rate-1h' ? '($__toTime - INTERVAL 1 HOUR)' : '$__fromTime';
  return sql
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n')
    .replaceAll('{db:Identifier}', database)
    // Whole hours inside the range come from sealed hours, whole minutes from the minute rollup, the rest from raw rows.
    .replaceAll("{hfrom:DateTime64(3, 'UTC')}", `toStartOfHour(${from} + INTERVAL 3599 SECOND)`)
    .replaceAll("{hto:DateTime64(3, 'UTC')}", `greatest(toStartOfHour(${from} + INTERVAL 3599 SECOND), toStartOfHour($__toTime))`)
    .replaceAll("{mfrom:DateTime64(3, 'UTC')}", `toStartOfMinute(${from} + INTERVAL 59 SECOND)`)
    .replaceAll("{mto:DateTime64(3, 'UTC')}", `greatest(toStartOfMinute(${from} + INTERVAL 59 SECOND), toStartOfMinute($__toTime))`)
    .replaceAll("{from:DateTime64(3, 'UTC')}", from)
    .replaceAll("{to:DateTime64(3, 'UTC')}", '$__toTime')
    .replaceAll('{organization_id:String}', "'${organization_id}'")
    .replaceAll('{node_type:String}', "'${node_type}'")
    .replaceAll('{reason:String}', "'${reason}'")
    .replaceAll('{bucket_seconds:UInt32}', '3600')
    .replaceAll('{failure_rate_threshold:Nullable(Float64)}', sqlNumber(thresholds.failureRateAlert))
    .replaceAll('{kill_switch_threshold:Nullable(Float64)}', sqlNumber(thresholds.killSwitch))
    .replaceAll('{slo_allowed_failure_rate:Nullable(Float64)}', sqlNumber(thresholds.sloAllowedFailureRate))
    .trim();
}

interface PanelSpec {
  metric: MetricName;
  title: string;
  type: 'stat' | 'table' | 'timeseries' | 'barchart';
  w: number;
  h: number;
  unit?: string;
  /** Stat panels: green from this value of the shown percentage up. */
  green?: number;
  /** Tables: the colour steps of one percentage column (Grafana colours a step from its value up). */
  column?: { field: string; steps: { color: string; value: number }[] };
  /** For time series: the value columns; the SQL returns `t` in Unix seconds and Grafana wants a time column. */
  time?: string[];
}

function panelSpecs(t: RateThresholds): PanelSpec[] {
  const target = t.sloAllowedFailureRate === null ? null : 1 - t.sloAllowedFailureRate;
  const rateSteps = [
    ...(t.failureRateAlert === null ? [] : [{ color: 'orange', value: 100 * t.failureRateAlert }]),
    ...(t.killSwitch === null ? [] : [{ color: 'red', value: 100 * t.killSwitch }]),
  ];
  const alertAt = [
    ...(t.failureRateAlert === null ? [] : [`alert > ${percent(t.failureRateAlert)}`]),
    ...(t.killSwitch === null ? [] : [`kill switch > ${percent(t.killSwitch)} sustained`]),
  ];
  return [
    { metric: 'adoption', title: 'Action adoption (% of active agents, target ≥ 30%)', type: 'stat', w: 6, h: 5, unit: 'percent', green: 30 },
    { metric: 'execution-volume-weekly', title: 'Executions per week and w/w growth', type: 'table', w: 6, h: 5 },
    {
      metric: 'success-rate',
      title: `Action success rate: executed / completed calls${target === null ? '' : ` (target ≥ ${percent(target)})`}`,
      type: 'stat', w: 6, h: 5, unit: 'percent', green: target === null ? undefined : 100 * target,
    },
    { metric: 'token-refresh-success', title: 'CRM token-refresh success (target ≥ 99%)', type: 'stat', w: 6, h: 5, unit: 'percent', green: 99 },
    { metric: 'actions-timeseries', title: 'Executions and failures per hour', type: 'timeseries', w: 24, h: 8, time: ['executed', 'failed', 'blocked'] },
    { metric: 'durations-timeseries', title: 'Duration p50 / p95 per hour (ms)', type: 'timeseries', w: 24, h: 8, unit: 'ms', time: ['p50_ms', 'p95_ms'] },
    {
      metric: 'failure-rate-1h',
      title: `On-call: failed / completed calls per action, last hour${alertAt.length ? ` (${alertAt.join(', ')})` : ''}`,
      type: 'table', w: 12, h: 8,
      column: rateSteps.length ? { field: 'failure_rate_pct', steps: rateSteps } : undefined,
    },
    { metric: 'failure-reasons', title: 'Failure reasons', type: 'table', w: 12, h: 8 },
    { metric: 'node-types', title: 'Per action: volume, success, duration p50/p95', type: 'table', w: 24, h: 8 },
    { metric: 'organizations', title: 'Per organization', type: 'table', w: 24, h: 8 },
    { metric: 'adoption-funnel', title: 'Adoption funnel per action: agents configured → invoked → executed', type: 'table', w: 12, h: 8 },
    { metric: 'agent-retention-weekly', title: 'Weekly agent retention (used actions last week and this week)', type: 'table', w: 12, h: 8 },
  ];
}

/**
 * The web dashboard's annotations in Grafana: alert episodes (a region from firing to resolved) and the registry audit
 * trail, read from the registry database through Grafana's PostgreSQL data source (`$registry`), filtered like the
 * panels by the two textbox variables (an episode or change without an organization shows under every one).
 */
function grafanaAnnotations(): Record<string, unknown>[] {
  const datasource = { type: 'grafana-postgresql-datasource', uid: '${registry}' };
  const episodes = `SELECT fired_at AS time, COALESCE(resolved_at, $__unixEpochTo()::bigint * 1000) AS timeend,
  title || ' — ' || scope::text || COALESCE(' (' || resolution || ')', ' (still firing)') AS text, rule_id AS tags
FROM alert_episodes
WHERE fired_at <= $__unixEpochTo()::bigint * 1000 AND (resolved_at IS NULL OR resolved_at >= $__unixEpochFrom()::bigint * 1000)
  AND ('\${node_type}' = '' OR COALESCE(scope->>'node_type', '') IN ('', '\${node_type}'))
  AND ('\${organization_id}' = '' OR COALESCE(scope->>'organization_id', '') IN ('', '\${organization_id}'))`;
  const changes = `SELECT COALESCE((details->>'event_time')::bigint, (extract(epoch FROM created_at) * 1000)::bigint) AS time,
  action || ' ' || node_type || COALESCE(' for ' || (to_jsonb(a)->>'organization_id'), '') || ' by ' || actor || COALESCE(': ' || reason, '') AS text, action AS tags
FROM node_registry_audit a
WHERE created_at >= to_timestamp($__unixEpochFrom()) - interval '1 day' AND created_at < to_timestamp($__unixEpochTo()) + interval '1 day'
  AND ('\${node_type}' = '' OR node_type = '\${node_type}')
  AND ('\${organization_id}' = '' OR COALESCE(to_jsonb(a)->>'organization_id', details->>'organization_id', '') IN ('', '\${organization_id}'))`;
  return [
    { name: 'Alert episodes', datasource, enable: true, iconColor: 'red', target: { refId: 'Anno', datasource, editorMode: 'code', format: 'table', rawQuery: true, rawSql: episodes } },
    { name: 'Kill switch and registry changes', datasource, enable: true, iconColor: 'orange', target: { refId: 'Anno', datasource, editorMode: 'code', format: 'table', rawQuery: true, rawSql: changes } },
  ];
}

export function buildGrafanaDashboard(thresholds: RateThresholds, database = 'actionpulse'): Record<string, unknown> {
  const sql = loadMetricSql();
  const datasource = { type: 'grafana-clickhouse-datasource', uid: '${datasource}' };
  let x = 0;
  let y = 0;
  const panels = panelSpecs(thresholds).map((p, i) => {
    if (x + p.w > 24) {
      x = 0;
      y += 8;
    }
    let rawSql = grafanaSql(sql.get(p.metric)!, thresholds, database, p.metric);
    if (p.time) rawSql = `SELECT toDateTime(t) AS time, ${p.time.join(', ')} FROM (\n${rawSql}\n)`;
    const panel = {
      id: i + 1,
      type: p.type,
      title: p.title,
      datasource,
      gridPos: { x, y, w: p.w, h: p.h },
      targets: [{ refId: 'A', datasource, editorType: 'sql', format: p.time ? 0 : 1, queryType: p.time ? 'timeseries' : 'table', rawSql }],
      fieldConfig: {
        defaults: {
          ...(p.unit ? { unit: p.unit } : {}),
          ...(p.green !== undefined ? { thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: p.green }] } } : {}),
        },
        overrides: p.column
          ? [{
              matcher: { id: 'byName', options: p.column.field },
              properties: [
                { id: 'unit', value: 'percent' },
                { id: 'thresholds', value: { mode: 'absolute', steps: [{ color: 'green', value: null }, ...p.column.steps] } },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            }]
          : [],
      },
      options: p.type === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'], fields: '/_pct$/' }, colorMode: 'value' } : {},
    };
    x += p.w;
    return panel;
  });
  return {
    title: 'Actionpulse — Qontak actions',
    uid: 'actionpulse-qontak-actions',
    tags: ['actionpulse', 'qontak'],
    timezone: 'utc',
    schemaVersion: 39,
    time: { from: 'now-7d', to: 'now' },
    refresh: '1m',
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'grafana-clickhouse-datasource', label: 'ClickHouse' },
        { name: 'registry', type: 'datasource', query: 'grafana-postgresql-datasource', label: 'Registry (PostgreSQL)' },
        { name: 'organization_id', type: 'textbox', label: 'Organization (empty = all)', query: '', current: { value: '' } },
        { name: 'node_type', type: 'textbox', label: 'Action node_type (empty = all)', query: '', current: { value: '' } },
        { name: 'reason', type: 'textbox', label: 'Failure reason (empty = all; per-action, per-organization, failure reasons, time series)', query: '', current: { value: '' } },
      ],
    },
    annotations: { list: grafanaAnnotations() },
    panels,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [{ loadConfig }, { loadRateThresholds }] = await Promise.all([import('../../platform/config.ts'), import('../alerts/rate-thresholds.ts')]);
  process.stdout.write(`${JSON.stringify(buildGrafanaDashboard(loadRateThresholds(loadConfig().alerts)), null, 2)}\n`);
}
