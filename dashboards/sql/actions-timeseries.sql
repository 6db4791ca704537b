-- Time series for the charts: executions and failures per bucket of {bucket_hours} hours in [from, to),
-- bucket start as Unix seconds. Exact distinct event_ids from the hourly rollup.
SELECT
  toUnixTimestamp(toStartOfInterval(hour, toIntervalHour({bucket_hours:UInt32}))) AS t,
  uniqExactMergeIf(events, event = 'qontak_action_executed') AS executed,
  uniqExactMergeIf(events, event = 'qontak_action_failed') AS failed
FROM {db:Identifier}.action_counts_hourly
WHERE event IN ('qontak_action_executed', 'qontak_action_failed')
  AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
GROUP BY t
ORDER BY t
