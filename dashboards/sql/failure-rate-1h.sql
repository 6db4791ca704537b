-- On-call (spec §11 alert): the rolling 1-hour failure rate per node_type, over [to - 1 hour, to):
-- `qontak_action_failed` / `qontak_action_invoked` x 100; the alert fires above 10%. `from` is unused (the
-- window is always the hour before `to`). Exact distinct event_ids at millisecond bounds, from the raw table.
SELECT
  node_type,
  uniqExactIf(event_id, event = 'qontak_action_invoked') AS invoked,
  uniqExactIf(event_id, event = 'qontak_action_failed') AS failed,
  if(invoked = 0, NULL, 100 * failed / invoked) AS failure_rate_pct,
  10 AS threshold_pct
FROM {db:Identifier}.action_events
WHERE event IN ('qontak_action_invoked', 'qontak_action_failed')
  AND timestamp >= {to:DateTime64(3, 'UTC')} - INTERVAL 1 HOUR AND timestamp < {to:DateTime64(3, 'UTC')}
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
GROUP BY node_type
ORDER BY node_type
