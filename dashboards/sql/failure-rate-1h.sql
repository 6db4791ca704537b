-- On-call (spec §11 alert): the rolling 1-hour failure rate per node_type over [to - 60 min, to), to the
-- millisecond (`from` is unused: the window is always the hour before `to`): failed / invoked x 100, the alert
-- fires above 10%. Blocked calls leave both sides (src/events/outcome-class.ts: the executor emitted `invoked`
-- before refusing, so `invoked` here is invocations minus blocked calls) and are shown as `blocked`; creates
-- with an unknown outcome are failures, also shown as `unknown_outcome`. Same window and rule as the alert
-- evaluator's rule `failure-rate-1h`. Exact distinct event_ids, from the raw table.
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
    uniqExactIf(event_id, event = 'qontak_action_invoked') AS all_invoked,
    uniqExactIf(event_id, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS failed,
    uniqExactIf(event_id, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS blocked,
    uniqExactIf(event_id, event = 'qontak_action_failed' AND reason IN ({{unknown_reasons}})) AS unknown_outcome
  FROM {db:Identifier}.action_events
  WHERE event IN ('qontak_action_invoked', 'qontak_action_failed')
    AND timestamp >= {to:DateTime64(3, 'UTC')} - INTERVAL 1 HOUR AND timestamp < {to:DateTime64(3, 'UTC')}
    AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
    AND ({node_type:String} = '' OR node_type = {node_type:String})
  GROUP BY node_type
)
ORDER BY node_type
