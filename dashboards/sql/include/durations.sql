-- Duration states (quantilesTiming, see node-types.sql) of executed and failed events in [from, to) — blocked
-- calls left out, they ran nothing — as rows (node_type, organization_id, d). Whole hours from the hourly
-- durations rollup, the partial hours at either end from the raw table, like include/counts.sql.
SELECT node_type, organization_id, durations AS d
FROM {db:Identifier}.action_durations_hourly
WHERE event IN ('qontak_action_executed', 'qontak_action_failed') AND reason NOT IN ({{blocked_reasons}})
  AND hour >= {hfrom:DateTime64(3, 'UTC')} AND hour < {hto:DateTime64(3, 'UTC')}
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
UNION ALL
SELECT node_type, organization_id, quantilesTimingState(0.5, 0.95)(assumeNotNull(duration_ms)) AS d
FROM {db:Identifier}.action_events
WHERE event IN ('qontak_action_executed', 'qontak_action_failed') AND reason NOT IN ({{blocked_reasons}})
  AND duration_ms IS NOT NULL
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND NOT (timestamp >= {hfrom:DateTime64(3, 'UTC')} AND timestamp < {hto:DateTime64(3, 'UTC')})
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
GROUP BY node_type, organization_id
