import { loadMetricSql, type MetricName } from './metric-queries.ts';

/**
 * Builds dashboards/grafana/actionpulse.json from the same SQL files as the web dashboard, so on-call's
 * Grafana panels can never drift from the PM numbers. Data source: the official ClickHouse plugin
 * (grafana-clickhouse-datasource); query parameters become its macros and two textbox variables.
 * Regenerate: `npx tsx src/consumers/clickhouse/grafana-dashboard.ts > dashboards/grafana/actionpulse.json`.
 */
export function grafanaSql(sql: string, database = 'actionpulse', metric?: MetricName): string {
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
    .replaceAll('{bucket_seconds:UInt32}', '3600')
    .trim();
}

interface PanelSpec {
  metric: MetricName;
  title: string;
  type: 'stat' | 'table' | 'timeseries' | 'barchart';
  w: number;
  h: number;
  unit?: string;
  thresholds?: { red: number; green: number };
  /** For time series: SQL returns `t` in Unix seconds; Grafana wants a time column. */
  time?: boolean;
}

const PANELS: PanelSpec[] = [
  { metric: 'adoption', title: 'Action adoption (% of active agents, target ≥ 30%)', type: 'stat', w: 6, h: 5, unit: 'percent', thresholds: { red: 0, green: 30 } },
  { metric: 'execution-volume-weekly', title: 'Executions per week and w/w growth', type: 'table', w: 6, h: 5 },
  { metric: 'success-rate', title: 'Action success rate, blocked calls apart (target ≥ 97%)', type: 'stat', w: 6, h: 5, unit: 'percent', thresholds: { red: 0, green: 97 } },
  { metric: 'token-refresh-success', title: 'CRM token-refresh success (target ≥ 99%)', type: 'stat', w: 6, h: 5, unit: 'percent', thresholds: { red: 0, green: 99 } },
  { metric: 'actions-timeseries', title: 'Executions and failures per hour', type: 'timeseries', w: 24, h: 8, time: true },
  { metric: 'failure-rate-1h', title: 'On-call: failure rate per action, last hour (alert > 10%)', type: 'table', w: 12, h: 8 },
  { metric: 'failure-reasons', title: 'Failure reasons', type: 'table', w: 12, h: 8 },
  { metric: 'node-types', title: 'Per action: volume, success, duration p50/p95', type: 'table', w: 24, h: 8 },
  { metric: 'organizations', title: 'Per organization', type: 'table', w: 24, h: 8 },
  { metric: 'adoption-funnel', title: 'Adoption funnel per action: agents configured → invoked → executed', type: 'table', w: 12, h: 8 },
  { metric: 'agent-retention-weekly', title: 'Weekly agent retention (used actions last week and this week)', type: 'table', w: 12, h: 8 },
];

export function buildGrafanaDashboard(database = 'actionpulse'): Record<string, unknown> {
  const sql = loadMetricSql();
  const datasource = { type: 'grafana-clickhouse-datasource', uid: '${datasource}' };
  let x = 0;
  let y = 0;
  const panels = PANELS.map((p, i) => {
    if (x + p.w > 24) {
      x = 0;
      y += 8;
    }
    let rawSql = grafanaSql(sql.get(p.metric)!, database, p.metric);
    if (p.time) rawSql = `SELECT toDateTime(t) AS time, executed, failed, blocked FROM (\n${rawSql}\n)`;
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
          ...(p.thresholds
            ? { thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: p.thresholds.green }] } }
            : {}),
        },
        overrides: [],
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
        { name: 'organization_id', type: 'textbox', label: 'Organization (empty = all)', query: '', current: { value: '' } },
        { name: 'node_type', type: 'textbox', label: 'Action node_type (empty = all)', query: '', current: { value: '' } },
      ],
    },
    panels,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(buildGrafanaDashboard(), null, 2)}\n`);
}
