-- Exact distinct-event counts of {{events}} in [from, to), to the millisecond, as rows
-- (at, event, organization_id, node_type, reason, outcome, n). Whole hours [hfrom, hto) come from the hourly
-- rollup (at = the hour); the partial hours at either end come from the raw table (at = the minute). The two
-- parts cover disjoint times and a duplicate carries its original timestamp, so summing n stays exact.
SELECT hour AS at, event, organization_id, node_type, reason, outcome, uniqExactMerge(events) AS n
FROM {db:Identifier}.action_counts_hourly
WHERE event IN ({{events}})
  AND hour >= {hfrom:DateTime64(3, 'UTC')} AND hour < {hto:DateTime64(3, 'UTC')}
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
GROUP BY at, event, organization_id, node_type, reason, outcome
UNION ALL
SELECT toDateTime(toStartOfMinute(timestamp), 'UTC') AS at, event, organization_id, node_type, reason, outcome, uniqExact(event_id) AS n
FROM {db:Identifier}.action_events
WHERE event IN ({{events}})
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND NOT (timestamp >= {hfrom:DateTime64(3, 'UTC')} AND timestamp < {hto:DateTime64(3, 'UTC')})
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
GROUP BY at, event, organization_id, node_type, reason, outcome
