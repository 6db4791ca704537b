-- Which agents sent {{events}} in [from, to), to the millisecond, as rows (event, organization_id, node_type,
-- agent_id), possibly repeated (read with DISTINCT or uniqExact). Whole hours [hfrom, hto) from the
-- agent_activity_hourly set, the other whole minutes of [mfrom, mto) from the minute set (sorted by time), the
-- partial minutes at either end from the raw table.
SELECT event, organization_id, node_type, agent_id
FROM {db:Identifier}.agent_activity_hourly
WHERE event IN ({{events}})
  AND hour >= {hfrom:DateTime64(3, 'UTC')} AND hour < {hto:DateTime64(3, 'UTC')}
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
UNION ALL
SELECT event, organization_id, node_type, agent_id
FROM {db:Identifier}.agent_activity_minutely
WHERE minute >= {mfrom:DateTime64(3, 'UTC')} AND minute < {mto:DateTime64(3, 'UTC')}
  AND (minute < {hfrom:DateTime64(3, 'UTC')} OR minute >= {hto:DateTime64(3, 'UTC')})
  AND event IN ({{events}})
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
UNION ALL
SELECT event, organization_id, node_type, agent_id
FROM {db:Identifier}.action_events
WHERE ({from:DateTime64(3, 'UTC')} < {mfrom:DateTime64(3, 'UTC')} OR {mto:DateTime64(3, 'UTC')} < {to:DateTime64(3, 'UTC')})
  AND event IN ({{events}}) AND agent_id != ''
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND NOT (timestamp >= {mfrom:DateTime64(3, 'UTC')} AND timestamp < {mto:DateTime64(3, 'UTC')})
  AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
  AND ({node_type:String} = '' OR node_type = {node_type:String})
