// Actionpulse dashboard: every number comes from a JSON endpoint that runs one SQL file of dashboards/sql.
// Plain script (no build step); uPlot is served from ./vendor (copied from node_modules at setup).
(function () {
  'use strict';
  const form = document.getElementById('filters');
  const statusLine = document.getElementById('status');
  const charts = {};

  const pct = (v) => (v === null || v === undefined ? 'n/a' : `${Number(v).toFixed(1)}%`);
  const int = (v) => (v === null || v === undefined ? 'n/a' : Number(v).toLocaleString('en-US'));
  window.actionpulseFormat = { pct, int };

  function params() {
    const data = new window.FormData(form);
    const p = new window.URLSearchParams();
    for (const [k, v] of data.entries()) {
      if (!v) continue;
      // The inputs hold UTC to the second (YYYY-MM-DDTHH:MM[:SS]).
      p.set(k, k === 'from' || k === 'to' ? new Date(`${v.length === 16 ? `${v}:00` : v}Z`).toISOString() : String(v));
    }
    return p;
  }

  async function get(path) {
    const res = await fetch(`${path}?${params().toString()}`);
    const body = await res.json();
    if (!res.ok) throw new Error(body.detail || body.error || res.statusText);
    return body;
  }

  function tile(id, value, detail, good) {
    const el = document.querySelector(`[data-testid="${id}"]`);
    el.querySelector('.value').textContent = value;
    el.querySelector('.detail').textContent = detail;
    el.classList.toggle('ok', good === true);
    el.classList.toggle('bad', good === false);
  }

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function fillTable(id, rows, columns) {
    const body = document.querySelector(`[data-testid="${id}"] tbody`);
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement('tr');
        for (const c of columns) tr.append(cell(c.format(row[c.key], row), c.cls ? c.cls(row) : ''));
        return tr;
      }),
    );
  }

  // The x axis spans the query's range (seconds), whatever the data: an hour or ninety days both read, and a
  // range with one point does not stretch over years. Bucket counts come complete from the API (zeros included).
  function chart(id, series, data, range) {
    const el = document.getElementById(id);
    charts[id]?.destroy();
    const opts = {
      width: Math.max(300, el.clientWidth),
      height: 220,
      series: [{}, ...series.map((s) => ({ points: { show: data[0].length <= 2 }, ...s }))],
      scales: { x: { time: true, range: () => range }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { size: 60 }],
      legend: { live: false },
    };
    charts[id] = new window.uPlot(opts, data, el);
    el.dataset.points = String(data[0].length);
    el.dataset.xMin = String(range[0]);
    el.dataset.xMax = String(range[1]);
  }

  function readableCounts(n) {
    return `${int(n)}`;
  }

  // Thresholds come from the alert rules through the API (fractions, null when no rule sets one); the page
  // writes none down itself.
  const fraction = (v) => (v === null || v === undefined ? null : 100 * v);
  function showThresholds(t) {
    const alert = fraction(t.failure_rate_alert);
    const kill = fraction(t.kill_switch);
    const target = t.slo_allowed_failure_rate === null ? null : 100 * (1 - t.slo_allowed_failure_rate);
    const alertText = [alert === null ? '' : `alert > ${pct(alert)}`, kill === null ? '' : `kill switch > ${pct(kill)} sustained`].filter(Boolean).join(', ');
    for (const el of document.querySelectorAll('[data-threshold="failure-rate"]')) el.textContent = alertText || 'no alert rule';
    for (const el of document.querySelectorAll('[data-threshold="success-target"]')) el.textContent = target === null ? 'no SLO rule' : `target ≥ ${pct(target)}`;
  }

  const label = (v) => v;

  async function refresh() {
    statusLine.textContent = 'Loading…';
    try {
      const overview = await get('/api/overview');
      showThresholds(overview.thresholds);
      const a = overview.adoption;
      tile('tile-adoption', pct(a.adoption_pct), `${int(a.adopting_agents)} of ${int(a.active_agents)} active agents`, a.adoption_pct === null ? undefined : a.adoption_pct >= a.target_pct);
      const weeks = overview.execution_volume_weekly;
      const last = weeks[weeks.length - 1];
      tile('tile-volume', last ? int(last.executed) : '0', last ? `week of ${last.week_start}, ${last.growth_pct === null ? 'no growth figure' : `${last.growth_pct >= 0 ? '+' : ''}${pct(last.growth_pct)} w/w`}` : 'no executions', last && last.growth_pct !== null ? last.growth_pct > 0 : undefined);
      const s = overview.success_rate;
      tile('tile-success', pct(s.success_rate_pct), `${int(s.executed)} executed of ${int(s.completed)} completed calls, ${int(s.failed)} failed (${int(s.unknown_outcome)} with unknown outcome)`, s.meets_target === null ? undefined : s.meets_target === 1);
      const t = overview.token_refresh_success;
      tile('tile-token', pct(t.success_pct), `${int(t.successful)} of ${int(t.total)} refreshes`, t.success_pct === null ? undefined : t.success_pct >= t.target_pct);
      tile('tile-blocked', readableCounts(s.blocked), `refused while the action was disabled; ${int(s.unknown_outcome)} unknown-outcome creates count as failed`);
      const xRange = [Date.parse(overview.range.from) / 1000, Date.parse(overview.range.to) / 1000];
      chart('chart-weekly', [{ label: 'Executed', stroke: '#1570ef', width: 2 }], [weeks.map((w) => Math.max(xRange[0], Date.parse(`${w.week_start}T00:00:00Z`) / 1000)), weeks.map((w) => w.executed)], xRange);

      const [series, rate1h, reasons, nodeTypes, orgs, funnel, retention] = await Promise.all(
        ['actions-timeseries', 'failure-rate-1h', 'failure-reasons', 'node-types', 'organizations', 'adoption-funnel', 'agent-retention-weekly'].map((m) => get(`/api/metrics/${m}`)),
      );
      const ts = series.rows;
      chart('chart-timeseries', [
        { label: 'Executed', stroke: '#1b7f3b', width: 2 },
        { label: 'Failed', stroke: '#b42318', width: 2 },
        { label: 'Blocked', stroke: '#98a2b3', width: 1 },
      ], [ts.map((r) => r.t), ts.map((r) => r.executed), ts.map((r) => r.failed), ts.map((r) => r.blocked)], xRange);
      // All actions together: the rule's overall scope, compared as the rule compares (failed / completed > threshold).
      const failed1h = rate1h.rows.reduce((n, r) => n + r.failed, 0);
      const completed1h = rate1h.rows.reduce((n, r) => n + r.completed, 0);
      const rateAll = completed1h > 0 ? (100 * failed1h) / completed1h : null;
      const alertAt = overview.thresholds.failure_rate_alert;
      tile('tile-failure-rate', pct(rateAll), `${int(failed1h)} failed / ${int(completed1h)} completed calls`, rateAll === null || alertAt === null ? undefined : !(failed1h / completed1h > alertAt));
      fillTable('table-failure-rate-1h', rate1h.rows, [
        { key: 'node_type', format: label },
        { key: 'completed', format: int },
        { key: 'failed', format: int },
        { key: 'failure_rate_pct', format: pct, cls: (r) => (r.above_threshold === 1 ? 'alert' : '') },
        { key: 'blocked', format: int },
      ]);
      fillTable('table-failure-reasons', reasons.rows, [
        { key: 'reason', format: label },
        { key: 'class', format: label },
        { key: 'failures', format: int },
        { key: 'share_pct', format: (v) => (v === null ? '–' : pct(v)) },
      ]);
      fillTable('table-node-types', nodeTypes.rows, [
        { key: 'node_type', format: label },
        { key: 'invoked', format: int },
        { key: 'executed', format: int },
        { key: 'failed', format: int },
        { key: 'unknown_outcome', format: int },
        { key: 'blocked', format: int },
        { key: 'success_rate_pct', format: pct },
        { key: 'p50_ms', format: int },
        { key: 'p95_ms', format: int },
      ]);
      fillTable('table-organizations', orgs.rows, [
        { key: 'organization_id', format: label },
        { key: 'executed', format: int },
        { key: 'failed', format: int },
        { key: 'blocked', format: int },
        { key: 'success_rate_pct', format: pct },
        { key: 'token_refresh_failed', format: int },
      ]);
      fillTable('table-adoption-funnel', funnel.rows, [
        { key: 'node_type', format: label },
        { key: 'configured_agents', format: int },
        { key: 'invoked_agents', format: int },
        { key: 'executed_agents', format: int },
        { key: 'invoked_pct', format: pct },
        { key: 'executed_pct', format: pct },
      ]);
      fillTable('table-agent-retention', retention.rows, [
        { key: 'week_start', format: label },
        { key: 'agents', format: int },
        { key: 'previous_agents', format: int },
        { key: 'retained', format: int },
        { key: 'retention_pct', format: pct },
      ]);
      await refreshHealth();
      statusLine.textContent = `Range ${overview.range.from} – ${overview.range.to} (UTC, to the minute). Updated ${new Date().toISOString()}.`;
      document.body.dataset.loaded = 'true';
    } catch (err) {
      statusLine.textContent = `Could not load: ${err.message}`;
      document.body.dataset.loaded = 'error';
    }
  }

  // The health view exists only where the whole pipeline serves the page; elsewhere it stays hidden.
  async function refreshHealth() {
    const section = document.getElementById('health');
    let health;
    try {
      health = await get('/api/health');
    } catch {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    fillTable('table-health', health.consumers, [
      { key: 'name', format: label },
      { key: 'lag', format: int },
      { key: 'written', format: int },
      { key: 'deadLettered', format: int },
      { key: 'secondsSinceProgress', format: (v) => (v === null ? '–' : `${v} s`) },
      { key: 'stalled', format: (v) => (v ? 'STALLED' : 'ok'), cls: (r) => (r.stalled ? 'alert' : '') },
    ]);
    const e = health.emitter;
    document.getElementById('health-emitter').textContent = e
      ? `Emitter: ${e.mode}, ${e.connected ? 'connected' : 'not connected'} to Kafka, ${int(e.queued)} queued, ${int(e.spoolRecords)} in the spool (${int(e.spoolBytes)} bytes), ${int(e.dropped)} dropped.`
      : '';
  }

  async function init() {
    const p = new window.URLSearchParams(window.location.search);
    // Links carry ISO instants or epoch milliseconds; the inputs show UTC to the second.
    for (const name of ['from', 'to']) {
      const v = p.get(name);
      if (v) form.elements[name].value = (/^\d+$/.test(v) ? new Date(Number(v)).toISOString() : new Date(v).toISOString()).slice(0, 19);
    }
    try {
      const filters = await get('/api/filters');
      const org = form.elements.organization_id;
      for (const o of filters.organizations) org.append(new window.Option(o, o));
      const node = form.elements.node_type;
      for (const n of filters.node_types) node.append(new window.Option(n.label, n.name));
    } catch (err) {
      statusLine.textContent = `Could not load filters: ${err.message}`;
    }
    for (const name of ['organization_id', 'node_type']) if (p.get(name)) form.elements[name].value = p.get(name);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void refresh();
    });
    await refresh();
  }

  void init();
})();
