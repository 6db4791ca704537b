-- Per-organization breakdown (spec §11.1) in [from, to): executions, failures (blocked calls apart), success rate
-- = executed / completed (completed = executed + failed, see success-rate.sql) and failed token refreshes per
-- organization, busiest first (top 200).
-- With {reason:String} (a failure reason, '' = all) only the calls that failed with that reason count: the rows
-- are the organizations with such a call, `failed` and `blocked` count them, and the columns about every call
-- (executed, success_rate_pct, token_refresh_failed) are NULL.
-- Exact distinct event_ids.
SELECT
  organization_id,
  if({reason:String} = '', n_executed, NULL) AS executed,
  n_failed AS failed,
  n_blocked AS blocked,
  if({reason:String} != '' OR n_executed + n_failed = 0, NULL, 100 * n_executed / (n_executed + n_failed)) AS success_rate_pct,
  if({reason:String} = '', n_token_failed, NULL) AS token_refresh_failed
FROM (
  SELECT
    organization_id,
    sumIf(n, event = 'qontak_action_executed') AS n_executed,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS n_failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS n_blocked,
    sumIf(n, event = 'qontak_action_token_refreshed' AND outcome = 'failed') AS n_token_failed
  FROM ({{counts:qontak_action_executed,qontak_action_failed,qontak_action_token_refreshed}})
  WHERE {{reason_filter}}
  GROUP BY organization_id
)
ORDER BY n_executed + n_failed + n_blocked DESC, organization_id
LIMIT 200
