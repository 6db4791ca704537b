-- Action success rate (spec §12, target >= 97%): executed / (executed + failed) x 100 in [from, to).
-- Exact distinct event_ids from the hourly rollup; bounds are whole hours.
SELECT
  executed,
  failed,
  if(executed + failed = 0, NULL, 100 * executed / (executed + failed)) AS success_rate_pct,
  97 AS target_pct
FROM (
  SELECT
    uniqExactMergeIf(events, event = 'qontak_action_executed') AS executed,
    uniqExactMergeIf(events, event = 'qontak_action_failed') AS failed
  FROM {db:Identifier}.action_counts_hourly
  WHERE event IN ('qontak_action_executed', 'qontak_action_failed')
    AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}
    AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
    AND ({node_type:String} = '' OR node_type = {node_type:String})
)
