-- Weekly agent retention (beyond spec §12, for PMs): per ISO week (Monday, UTC: this metric is aligned to whole
-- weeks, the range is rounded out to the weeks holding `from` and `to` - 1 ms), `agents` that invoked an action
-- that week, `previous_agents` that did the week before, `retained` = agents in both, and `retention_pct` =
-- retained / previous_agents. An agent is the pair (organization_id, agent_id); `node_type` narrows to one action.
-- No rows when no agent invoked anything in these weeks. Exact (sets of agents, from the hourly agent_activity set).
SELECT
  toString(week) AS week_start,
  countIf(has(weeks, week)) AS agents,
  countIf(has(weeks, week - 7)) AS previous_agents,
  countIf(has(weeks, week) AND has(weeks, week - 7)) AS retained,
  if(previous_agents = 0, NULL, 100 * retained / previous_agents) AS retention_pct
FROM (
  SELECT organization_id, agent_id, groupUniqArray(toMonday(hour)) AS weeks
  FROM {db:Identifier}.agent_activity_hourly
  WHERE event = 'qontak_action_invoked'
    AND hour >= toMonday({from:DateTime64(3, 'UTC')}) - 7
    AND hour < toMonday({to:DateTime64(3, 'UTC')} - INTERVAL 1 MILLISECOND) + 7
    AND ({organization_id:String} = '' OR organization_id = {organization_id:String})
    AND ({node_type:String} = '' OR node_type = {node_type:String})
  GROUP BY organization_id, agent_id
)
ARRAY JOIN arrayMap(
  i -> toMonday({from:DateTime64(3, 'UTC')}) + 7 * i,
  range(toUInt32(dateDiff('day', toMonday({from:DateTime64(3, 'UTC')}), toMonday({to:DateTime64(3, 'UTC')} - INTERVAL 1 MILLISECOND)) / 7) + 1)
) AS week
GROUP BY week
ORDER BY week
