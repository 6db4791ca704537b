-- Per-organization breakdown (spec §11.1) in [from, to): executions, failures, success rate and failed
-- token refreshes per organization, busiest first (top 200). Exact distinct event_ids from the rollup.
SELECT
  organization_id,
  executed,
  failed,
  if(executed + failed = 0, NULL, 100 * executed / (executed + failed)) AS success_rate_pct,
  token_refresh_failed
FROM (
  SELECT
    organization_id,
    uniqExactMergeIf(events, event = 'qontak_action_executed') AS executed,
    uniqExactMergeIf(events, event = 'qontak_action_failed') AS failed,
    uniqExactMergeIf(events, event = 'qontak_action_token_refreshed' AND outcome = 'failed') AS token_refresh_failed
  FROM {db:Identifier}.action_counts_hourly
  WHERE event IN ('qontak_action_executed', 'qontak_action_failed', 'qontak_action_token_refreshed')
    AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}
    AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
    AND ({node_type:String} = '' OR node_type = {node_type:String})
  GROUP BY organization_id
)
ORDER BY executed + failed DESC, organization_id
LIMIT 200
