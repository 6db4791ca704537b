-- Per-organization breakdown (spec §11.1) in [from, to): executions, failures (blocked calls apart), success rate
-- = executed / completed (completed = executed + failed, see success-rate.sql) and failed token refreshes per
-- organization, busiest first (top 200).
-- Exact distinct event_ids.
SELECT
  organization_id,
  executed,
  failed,
  blocked,
  if(executed + failed = 0, NULL, 100 * executed / (executed + failed)) AS success_rate_pct,
  token_refresh_failed
FROM (
  SELECT
    organization_id,
    sumIf(n, event = 'qontak_action_executed') AS executed,
    sumIf(n, event = 'qontak_action_failed' AND reason NOT IN ({{blocked_reasons}})) AS failed,
    sumIf(n, event = 'qontak_action_failed' AND reason IN ({{blocked_reasons}})) AS blocked,
    sumIf(n, event = 'qontak_action_token_refreshed' AND outcome = 'failed') AS token_refresh_failed
  FROM ({{counts:qontak_action_executed,qontak_action_failed,qontak_action_token_refreshed}})
  GROUP BY organization_id
)
ORDER BY executed + failed + blocked DESC, organization_id
LIMIT 200
