-- On-call (spec §11 alert): the rolling 1-hour failure rate per node_type over [to - 60 min, to), to the
-- millisecond (metricParams sets `from` to `to` - 60 min whatever was asked): failed / invoked x 100, the alert
-- fires above 10%. Blocked calls leave both sides (src/events/outcome-class.ts: the executor emitted `invoked`
-- before refusing, so `invoked` here is invocations minus blocked calls) and are shown as `blocked`; creates
-- with an unknown outcome are failures, also shown as `unknown_outcome`. Same window and rule as the alert
-- evaluator's rule `failure-rate-1h`. Exact distinct event_ids (include/counts.sql: the minute rollup, raw rows for partial minutes).
SELECT
  node_type,
  all_invoked - blocked AS invoked,
  failed,
  blocked,
  unknown_outcome,
  if(invoked <= 0, NULL, 100 * failed / invoked) AS failure_rate_pct,
  10 AS threshold_pct
FROM (
  SELECT
    node_type,
    sumIf(n, event = 'qontak_action_invoked') AS all_invoked,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS blocked,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{unknown_reasons}})) AS unknown_outcome
  FROM ({{counts:qontak_action_invoked,qontak_action_failed}})
  GROUP BY node_type
)
ORDER BY node_type
