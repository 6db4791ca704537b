// Error budget panel: the success SLO's budget left per action over the SLO rule's window, from GET /api/error-budget
// (written by the alert evaluator from its slo-budget-burn-3d window). Calls are completed calls (executed + failed;
// blocked calls left out), so the failure rate is failed / completed. The target and window shown are the rule's, as
// the API reports them. Self-contained: it adds its own table to the tables section and refreshes every 30 s.
(function () {
  'use strict';
  const section = document.querySelector('section.tables');
  if (!section) return;
  const article = document.createElement('article');
  article.className = 'wide';
  article.innerHTML =
    '<h2>Error budget left (success SLO)</h2>' +
    '<table data-testid="table-error-budget"><thead><tr><th>Action</th><th>Completed calls</th><th>Failed</th><th>Failure rate</th><th>Budget left</th><th>As of</th></tr></thead><tbody></tbody></table>';
  section.appendChild(article);
  const heading = article.querySelector('h2');
  const body = article.querySelector('tbody');
  const span = (minutes) => (minutes % 1440 === 0 ? `${minutes / 1440} days` : minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`);
  const pct = (v) => (v === null || v === undefined ? 'n/a' : `${(Number(v) * 100).toFixed(1)}%`);
  const int = (v) => Number(v).toLocaleString('en-US');

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  async function refresh() {
    try {
      const res = await fetch('/api/error-budget');
      if (!res.ok) return;
      const { error_budget: rows } = await res.json();
      if (rows.length > 0) heading.textContent = `Error budget left (${pct(rows[0].success_target)} success SLO, trailing ${span(rows[0].window_minutes)})`;
      body.replaceChildren(
        ...rows.map((r) => {
          const tr = document.createElement('tr');
          const left = r.budget_left;
          tr.append(
            cell(r.node_type ?? 'all actions'),
            cell(int(r.calls)),
            cell(int(r.failures)),
            cell(pct(r.failure_rate)),
            cell(pct(left), left === null ? '' : left > 0.25 ? 'ok' : 'bad'),
            cell(new Date(r.as_of).toISOString().slice(0, 16).replace('T', ' ')),
          );
          return tr;
        }),
      );
    } catch {
      // the panel stays as it was; the next refresh tries again
    }
  }
  void refresh();
  window.setInterval(refresh, 30_000);
})();
