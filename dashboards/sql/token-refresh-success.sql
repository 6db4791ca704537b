-- CRM token-refresh success (spec §12, target >= 99%): successful refreshes / all 401-triggered refreshes
-- x 100 in [from, to). A refresh carries node_type only when an action triggered it: with a node_type
-- filter, only those refreshes count. Exact distinct event_ids from the hourly rollup.
SELECT
  successful,
  total - successful AS failed,
  total,
  if(total = 0, NULL, 100 * successful / total) AS success_pct,
  99 AS target_pct
FROM (
  SELECT
    uniqExactMergeIf(events, outcome = 'success') AS successful,
    uniqExactMerge(events) AS total
  FROM {db:Identifier}.action_counts_hourly
  WHERE event = 'qontak_action_token_refreshed'
    AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}
    AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
    AND ({node_type:String} = '' OR node_type = {node_type:String})
)
