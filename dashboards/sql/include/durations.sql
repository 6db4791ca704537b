-- Duration states (quantilesTiming, see node-types.sql) of executed and failed events in [from, to) — blocked
-- calls left out, they ran nothing — as rows (node_type, organization_id, at, d), `at` the hour or minute the
-- state covers (a time series buckets on it). Whole hours [hfrom, hto) from the
-- hourly durations rollup, the other whole minutes of [mfrom, mto) from the minute one (sorted by time, so the
-- partial hours at the ends read a few granules), the partial minutes at either end from the raw table.
SELECT node_type, organization_id, hour AS at, durations AS d
FROM {db:Identifier}.action_durations_hourly
WHERE event IN ('qontak_action_executed', 'qontak_action_failed') AND reason NOT IN ({{blocked_reasons}})
  AND hour >= {hfrom:DateTime64(3, 'UTC')} AND hour < {hto:DateTime64(3, 'UTC')}
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
UNION ALL
SELECT node_type, organization_id, minute AS at, durations AS d
FROM {db:Identifier}.action_durations_minutely
WHERE minute >= {mfrom:DateTime64(3, 'UTC')} AND minute < {mto:DateTime64(3, 'UTC')}
  AND (minute < {hfrom:DateTime64(3, 'UTC')} OR minute >= {hto:DateTime64(3, 'UTC')})
  AND event IN ('qontak_action_executed', 'qontak_action_failed') AND reason NOT IN ({{blocked_reasons}})
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
UNION ALL
SELECT node_type, organization_id, toStartOfMinute(timestamp) AS at, quantilesTimingState(0.5, 0.95)(assumeNotNull(duration_ms)) AS d
FROM {db:Identifier}.action_events
WHERE ({from:DateTime64(3, 'UTC')} < {mfrom:DateTime64(3, 'UTC')} OR {mto:DateTime64(3, 'UTC')} < {to:DateTime64(3, 'UTC')})
  AND event IN ('qontak_action_executed', 'qontak_action_failed') AND reason NOT IN ({{blocked_reasons}})
  AND duration_ms IS NOT NULL
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND NOT (timestamp >= {mfrom:DateTime64(3, 'UTC')} AND timestamp < {mto:DateTime64(3, 'UTC')})
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
GROUP BY node_type, organization_id, at
