-- Failure-reason mix (spec §11.1): `qontak_action_failed` per reason code in [from, to) and its share of
-- all failures in %. Exact distinct event_ids from the hourly rollup.
SELECT
  reason,
  failures,
  100 * failures / sum(failures) OVER () AS share_pct
FROM (
  SELECT reason, uniqExactMerge(events) AS failures
  FROM {db:Identifier}.action_counts_hourly
  WHERE event = 'qontak_action_failed'
    AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}
    AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
    AND ({node_type:String} = '' OR node_type = {node_type:String})
  GROUP BY reason
)
ORDER BY failures DESC, reason
